"""What a query may cost: depth, aliases and tokens are refused before anything runs."""
from __future__ import annotations

from gql.schema.limits import MAX_ALIASES, MAX_DEPTH
from tests.graphql import gql


def _nested(field: str, levels: int, leaf: str = "id") -> str:
    selection = leaf
    for _ in range(levels - 1):
        selection = f"{field} {{ {selection} }}"
    return "{ " + selection + " }"


async def test_a_query_deeper_than_the_limit_is_refused_without_running(client, shop):
    # The depth rule reads the document, not the schema: today's schema nests only ~5 levels, so an
    # over-deep selection is the way to show the limit is enforced.
    body = await gql(client, _nested("me", MAX_DEPTH + 2))

    assert "data" not in body or body["data"] is None
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


async def test_introspection_does_not_count_towards_depth(client, shop):
    # GraphiQL's own introspection query nests `ofType` deeper than the limit.
    type_ref = _nested("ofType", MAX_DEPTH + 2, leaf="name")[2:-2]
    body = await gql(client, "{ __schema { types { fields { type { " + type_ref + " } } } } }")

    assert "errors" not in body
    assert body["data"]["__schema"]["types"]


async def test_a_query_within_the_limits_runs(client, shop):
    body = await gql(client, "{ products(first: 1) { edges { node { price { decimal } seller { name } } } } }")

    assert body["data"]["products"]["edges"][0]["node"]["seller"]["name"] == "Sam's Supplies"


async def test_more_aliases_than_the_limit_are_refused(client, shop):
    aliases = " ".join(f"a{i}: products(first: 1) {{ totalCount }}" for i in range(MAX_ALIASES + 1))

    body = await gql(client, "{ " + aliases + " }")

    assert body.get("data") is None
    assert "aliases" in body["errors"][0]["message"]


async def test_a_query_with_too_many_tokens_is_refused(client, shop):
    body = await gql(client, "{ " + " ".join(["__typename"] * 2_500) + " }")

    assert body.get("data") is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_first_above_the_page_limit_is_a_bad_user_input_error(client, shop):
    body = await gql(client, "{ products(first: 101) { totalCount } }")

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
