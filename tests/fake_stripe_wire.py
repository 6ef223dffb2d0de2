"""Stripe's wire conventions for the test fakes (tests/fake_stripe*.py): the form encoding of
request bodies and queries, and the error shape. A module of its own so that every part of the
fake can import it without importing tests/fake_stripe.py, which mounts them all.
"""
from __future__ import annotations

from typing import Any


class StripeRefusal(Exception):
    """Stripe's answer to a request it refuses: `{"error": {"type", "message", ...}}` with a status."""

    def __init__(self, status: int, type_: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **fields}}


def invalid(message: str, param: str | None = None, **fields: Any) -> StripeRefusal:
    """A 400 `invalid_request_error`, Stripe's answer to a request it can't carry out as sent."""
    if param:
        fields["param"] = param
    return StripeRefusal(400, "invalid_request_error", message, **fields)


def positive(p: dict[str, Any], name: str, *, zero: bool = False) -> int:
    """An integer parameter (as the form sends it: digits), positive or, with `zero`, not negative."""
    value = p.get(name, "")
    if not (isinstance(value, str) and value.isdigit() and (zero or int(value) > 0)):
        raise invalid("Invalid positive integer" if not zero else "Invalid non-negative integer", name,
                      code="parameter_invalid_integer")
    return int(value)


def form_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding as nested values, as deep as the names go: `metadata[k]=v` is a dict,
    `expand[0]=x` (or `expand[]=x`) a list, `line_items[0][price_data][product_data][name]=n` a
    list of dicts of dicts. A name used both as a value and as a container is refused, as Stripe
    refuses it."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        keys = [head, *rest[:-1].split("][")] if rest.endswith("]") else [name]
        node = root
        for key in keys[:-1]:
            node = node.setdefault(key or str(len(node)), {})
            if not isinstance(node, dict):
                raise invalid(f"Invalid object: {name} mixes a value and a hash", head)
        last = keys[-1] or str(len(node))
        if isinstance(node.get(last), dict):
            raise invalid(f"Invalid object: {name} mixes a value and a hash", head)
        node[last] = value
    return _with_lists(root)


def _with_lists(node: Any) -> Any:
    # A hash whose keys are all indices is an array, in index order (Stripe's SDKs send `a[0]`, `a[1]`).
    if not isinstance(node, dict):
        return node
    items = {key: _with_lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items
