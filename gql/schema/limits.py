"""What a query may cost, and what a client may see of a failure.

The limiters' rule classes are built once, at import: Strawberry's ValidationCache keys on the
rule classes, and limiters built per request (as its docs show) would miss it every time
(STACK-NOTES.md).
"""
from __future__ import annotations

import logging

from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2_000

DEPTH_RULE = depth_rule(MAX_DEPTH, None)
ALIAS_RULE = alias_rule(MAX_ALIASES)

log = logging.getLogger("paygate.graphql")


def is_unexpected(error: GraphQLError) -> bool:
    """An error from inside a resolver that is not one we raised on purpose: hide its text."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def extensions(*, production: bool) -> list:
    rules: list[type[ASTValidationRule]] = [DEPTH_RULE, ALIAS_RULE]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        lambda: MaskErrors(should_mask_error=is_unexpected, error_message="Internal server error"),
    ]
