"""paygate's own schema: random queries answered by the compiled plans and by graphql-core alike.

The app under test runs in "verify" mode (tests/conftest.py): every query operation is answered
by its plan and executed again by graphql-core, and a difference in the JSON fails the request
and is kept in `execution.MISMATCHES`. Here Hypothesis draws documents over paygate's whole
Query type (tests/graphql_selections.py) against a shop with paid, declined and refunded orders,
as staff, a seller, a customer and nobody, so answers carry nulls, lists, the `Node` interface,
connections, money, enums, errors of authorization and of arguments beside data.
"""
from __future__ import annotations

import asyncio

import httpx
from graphql import GraphQLNonNull, Undefined
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.uow import SqlUnitOfWork
from domain.money import Money
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from gql import execution
from gql.schema import build_schema
from tests.graphql import gql
from tests.graphql_selections import documents
from tests.payments_fixtures import DECLINED, POLICY, VISA, customer, order_for, providers, staff

EXAMPLES = 80
PAGE_ARGUMENTS = ["", "", "", "first: 1", "first: 3", "first: 1000"]  # 1000 is refused: an error beside data


async def _populate(db, shop) -> None:
    gateway = providers()
    for n, (email, card) in enumerate([("customer@example.com", VISA), ("customer2@example.com", VISA),
                                       ("customer@example.com", DECLINED), ("customer2@example.com", VISA)]):
        order = await order_for(db, shop, {"SAM-MUG-01": 1 + n, "SORA-NOTE-01": 1} if n % 2 else {"SAM-MUG-01": 2},
                                email)
        try:
            payment = await pay_order(PayOrder(customer(shop, email), order.id, "dummy", card=card),
                                      SqlUnitOfWork(db), gateway, POLICY)
        except Exception:
            continue
        if n == 1:
            await refund_payment(RefundPayment(staff(shop), payment.id, Money.of(100, "USD")), SqlUnitOfWork(db),
                                 gateway, POLICY)


async def _global_ids(client, shop) -> list[str]:
    body = await gql(client, """{ payments(first: 10) { edges { node { id buyer { id }
        order { id lines { product { id } } } refunds { id } } } } }""", token=shop.token("staff@example.com"))
    ids: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "id" and isinstance(inner, str):
                    ids.add(inner)
                else:
                    collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)

    collect(body["data"])
    return [*sorted(ids), "bm90IGFuIGlk"]  # and one that decodes to no object


def _roots(schema, ids: list[str]) -> dict[str, list[str]]:
    """Every root query field a client can call: page arguments for connections, ids for lookups."""
    roots: dict[str, list[str]] = {}
    for name, field in schema.query_type.fields.items():
        required = [arg for arg, spec in field.args.items()
                    if isinstance(spec.type, GraphQLNonNull) and spec.default_value is Undefined]
        if required == ["id"]:
            roots[name] = [f'id: "{gid}"' for gid in ids]
        elif not required:
            roots[name] = PAGE_ARGUMENTS if "first" in field.args else [""]
    return roots


def _fuzz(url: str, schema, roots: dict[str, list[str]], tokens: list[str | None]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        @settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
        @given(documents(schema, roots, max_depth=5), st.sampled_from(tokens))
        def same_answer(document, token) -> None:
            query, variables = document
            seen = len(execution.MISMATCHES)

            response = http.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"} if token else {})

            assert len(execution.MISMATCHES) == seen, execution.MISMATCHES[-1]
            assert response.status_code in (200, 400, 401, 403), response.text  # never a 500

        same_answer()


async def test_random_queries_over_paygates_schema_answer_as_graphql_core_does(client, db, served, shop):
    await _populate(db, shop)
    schema = build_schema()._schema
    roots = _roots(schema, await _global_ids(client, shop))
    # Mostly staff, who may read every root field; the others get authorization errors beside data.
    tokens = [shop.token(email) for email in ("staff@example.com", "staff@example.com", "staff@example.com",
                                              "seller@example.com", "customer@example.com")]
    before = dict(execution.COUNTS)

    await asyncio.to_thread(_fuzz, served.url, schema, roots, [*tokens, None])

    planned = execution.COUNTS["plan"] - before["plan"]
    fell_back = execution.COUNTS["fallback"] - before["fallback"]
    assert planned >= EXAMPLES // 3, execution.COUNTS  # most documents were answered by their plans
    assert fell_back >= 1, execution.COUNTS  # and some errors were graphql-core's
