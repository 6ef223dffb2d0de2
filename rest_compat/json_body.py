"""Reading JSON from a client: the one reader behind every REST body and every GraphQL request.

What it refuses, each with a message that names the place (`reason`, `items[2].name`):

- anything json.loads refuses, and `NaN` / `Infinity` (not JSON: RFC 8259 has no such numbers);
- nesting deeper than `MAX_DEPTH` arrays and objects: what is parsed goes on to code that
  recurses once per level (graphql-core's input coercion, the Stripe SDK's objects), and a body
  100,000 levels deep must be a 400, never a RecursionError;
- text no database keeps: NUL (PostgreSQL's text refuses it; SQLite would keep it, silently
  different) and unpaired UTF-16 surrogates (`"\\ud800"`, valid JSON escapes that UTF-8 can't
  encode). Refusing them here, before any use case runs, means nothing is half-written.

paygate/body_limits.py applies the same reading to every request body that is JSON, before any
route sees it (webhooks included, which parse their raw body themselves), and limits the size.
"""
from __future__ import annotations

import json
import re
from typing import Any

# Deep enough for every provider's webhook (Stripe's events nest about 8 levels) and every seed's
# body, and far below the ~1,000 Python frames that json.loads, graphql-core's input coercion and
# the Stripe SDK's object builder each spend one or more of per level.
MAX_DEPTH = 64

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What can become one in parsed text: a \u0000 or \uD800-\uDFFF escape, or a surrogate already in
# the text (bytes are decoded with surrogatepass, as json.loads does). A raw NUL is not JSON.
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\ud800-\udfff]")


class BadJson(ValueError):
    """The body can't be read as JSON we accept; the message is for the client."""


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


# Built once: json.loads with arguments builds a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_EXACT = json.JSONDecoder(parse_float=str, parse_constant=_refuse_constant)


def read_json(raw: bytes | str, *, exact_numbers: bool = False) -> Any:
    """The JSON value of `raw`, checked for depth and text. With `exact_numbers`, numbers with a
    fraction or an exponent stay their text ("29.99"): money is never read through float."""
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        value = (_EXACT if exact_numbers else _DECODER).decode(text)
    except BadJson:
        raise
    except RecursionError:  # the parser recursed ~1,000 levels before giving up
        raise BadJson(f"request body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise BadJson("request body is not valid JSON") from None
    if _deeper_than(value, MAX_DEPTH):
        raise BadJson(f"request body is nested deeper than {MAX_DEPTH} levels")
    # json.loads refuses a raw NUL; NUL and surrogates come only from these escapes or bytes, so
    # most bodies skip the walk over every string.
    if not (text.isascii() and "\\u" not in text) and _SUSPECT.search(text):
        check_text(value)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels: level by level, no recursion."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [inner for outer in level for inner in (outer.values() if isinstance(outer, dict) else outer)
                 if isinstance(inner, dict | list)]
        if not level:
            return False
    return True


def check_text(value: Any, path: str = "") -> None:
    """Raise BadJson naming a string (or key) of `value` that holds NUL or an unpaired surrogate."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            _check(item, where)
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                _check(key, f"{inner_path} (a key)")
                stack.append((inner_path, inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def _check(text: str, where: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    label = _printable(where) or "request body"
    if found.group() == "\x00":
        raise BadJson(f"{label}: must not contain NUL characters.")
    raise BadJson(f"{label}: must not contain unpaired surrogates (U+D800 to U+DFFF); send valid Unicode.")


def _printable(where: str) -> str:
    # The path is made of the client's own keys: echo it only as clean text.
    return _UNSTORABLE.sub("\ufffd", where)[:200]
