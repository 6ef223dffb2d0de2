"""What a query selects below a field, asked before reading: a list reads a relation in one batch
only when some selection under it names that relation.

Conservative on purpose: a name anywhere below the field (in a fragment, under an alias, behind
`@include(if: false)`) counts. Reading a batch nobody shows costs one statement; missing one
costs nothing but speed, because the relation's resolver then falls back to its loader.
"""
from __future__ import annotations

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry import Info


def selects(info: Info, name: str) -> bool:
    """Whether a field called `name` (its schema name, not an alias) appears below this field."""
    raw = info._raw_info
    seen: set[str] = set()
    return any(_below(node.selection_set, name, raw.fragments, seen) for node in raw.field_nodes)


def _below(selection_set: SelectionSetNode | None, name: str, fragments, seen: set[str]) -> bool:
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == name or _below(selection.selection_set, name, fragments, seen):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _below(selection.selection_set, name, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment_name = selection.name.value
            if fragment_name not in seen:
                seen.add(fragment_name)
                fragment = fragments.get(fragment_name)
                if fragment is not None and _below(fragment.selection_set, name, fragments, seen):
                    return True
    return False
