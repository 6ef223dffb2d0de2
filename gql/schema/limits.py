"""What a query may cost and contain, and what a client may see of a failure.

The limiters' rule classes are built once, at import: Strawberry's ValidationCache keys on the
rule classes, and limiters built per request (as its docs show) would miss it every time
(STACK-NOTES.md).
"""
from __future__ import annotations

import logging
import re

from graphql import GraphQLError, StringValueNode
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2_000

DEPTH_RULE = depth_rule(MAX_DEPTH, None)
ALIAS_RULE = alias_rule(MAX_ALIASES)

log = logging.getLogger("paygate.graphql")

# Text no database keeps (PostgreSQL refuses NUL; UTF-8 can't encode a lone surrogate). Variables
# are checked with the request's JSON (rest_compat/json_body.py); this is for the query's own
# string literals, where `"\u0000"` is a GraphQL escape.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")  # names never hold a "?"


class StorableStringsRule(ASTValidationRule):
    """String literals must be text a database keeps: refused at validation, before anything runs."""

    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if _UNSTORABLE.search(node.value):
            self.report_error(GraphQLError(
                "String literals must not contain NUL characters or unpaired surrogates", node,
                extensions={"code": "BAD_USER_INPUT"}))


def is_unexpected(error: GraphQLError) -> bool:
    """An error from inside a resolver that is not one we raised on purpose: hide its text."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def hide_suggestions(error: GraphQLError) -> None:
    """Drop "Did you mean 'payments'?" from an error: with introspection off, suggestions would
    still spell the schema out to whoever guesses names. Strawberry's `disable_field_suggestions`
    covers unknown fields only; arguments, input fields, types and enum values suggest too."""
    error.message = _SUGGESTION.sub("", error.message)


def extensions(*, production: bool) -> list:
    rules: list[type[ASTValidationRule]] = [DEPTH_RULE, ALIAS_RULE, StorableStringsRule]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        lambda: MaskErrors(should_mask_error=is_unexpected, error_message="Internal server error"),
    ]
