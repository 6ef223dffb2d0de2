"""A refund whose request failed after the provider acted (a 5xx, a crash) is resumed by the same
Idempotency-Key: the attempt it started is sent again with its own provider key, never a second
attempt, and the money moves once."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from db.transaction_queries import payment_by_number
from domain.payments.provider import Providers
from domain.payments.status import AttemptKind, AttemptStatus
from paygate.app import create_app
from providers.dummy import DummyGateway
from gql.schema.relay import to_global_id
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_rest_seed_004 import BASE, auth, paid

STAFF = "staff@example.com"


class DiesAfterRefunding(DummyGateway):
    """Refunds, then fails the way a crash after the provider's answer does (no answer stored)."""

    def __init__(self) -> None:
        super().__init__()
        self.refund_keys: list[str] = []
        self.die_next = True

    async def refund(self, req):
        outcome = await super().refund(req)
        self.refund_keys.append(req.idempotency_key)
        if self.die_next:
            self.die_next = False
            raise RuntimeError("the process died after the provider refunded")
        return outcome


@pytest.fixture
async def gateway() -> DiesAfterRefunding:
    return DiesAfterRefunding()


@pytest.fixture
async def app(database_url, shared_db, gateway):
    server, task, url = await start_server(create_app(settings_for(database_url), db=shared_db,
                                                      providers=Providers([gateway])))
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http
    await stop_server(server, task)


async def refunds_of(db, number: str):
    found = await payment_by_number(db, number)
    return [a for a in found.payment.attempts if a.kind is AttemptKind.REFUND]


async def test_a_refund_retried_with_its_key_after_a_500_resumes_the_same_attempt(app, db, shop, gateway):
    number = await paid(app, db, shop)
    request = {"json": {"transaction_id": number, "amount": "10.00"},
               "headers": {**auth(shop, STAFF), "Idempotency-Key": "refund-once-please"}}

    first = await app.post(f"{BASE}/refund/", **request)
    retried = await app.post(f"{BASE}/refund/", **request)
    again = await app.post(f"{BASE}/refund/", **request)

    assert first.status_code == 500
    assert retried.status_code == 200, retried.text
    assert again.json() == retried.json() and again.headers.get("idempotent-replayed") == "true"
    refunds = await refunds_of(db, number)
    assert len(refunds) == 1 and refunds[0].status is AttemptStatus.SUCCEEDED
    assert gateway.refund_keys == [refunds[0].idempotency_key] * 2  # sent twice, with one provider key
    detail = (await app.get(f"{BASE}/transactions/{number}/", headers=auth(shop, STAFF))).json()
    assert detail["status"] == "partially_refunded"


async def test_the_key_of_a_failed_refund_sent_for_another_amount_is_refused_and_moves_nothing(app, db, shop,
                                                                                               gateway):
    # The 500 released the key in the idempotency store; the attempt still remembers it.
    number = await paid(app, db, shop)
    headers = {**auth(shop, STAFF), "Idempotency-Key": "refund-ten"}
    failed = await app.post(f"{BASE}/refund/", json={"transaction_id": number, "amount": "10.00"}, headers=headers)

    other = await app.post(f"{BASE}/refund/", json={"transaction_id": number, "amount": "20.00"}, headers=headers)

    assert failed.status_code == 500
    assert other.status_code == 400 and "idempotency key" in other.json()["error"]
    assert [r.amount.minor for r in await refunds_of(db, number)] == [10_00]
    assert len(gateway.refund_keys) == 1


async def test_concurrent_cancels_of_one_paid_order_answer_no_internal_error(app, db, shop, gateway):
    gateway.die_next = False
    number = await paid(app, db, shop)
    order_id = (await payment_by_number(db, number)).payment.order_id
    mutation = """mutation($o: ID!) { cancel(input: {orderId: $o, reason: "changed my mind"}) {
        __typename ... on Error { code } } }"""

    answers = await asyncio.gather(*(gql(app, mutation, {"o": to_global_id("Order", order_id)},
                                         token=shop.token("customer@example.com")) for _ in range(10)))

    kinds = [a["data"]["cancel"]["__typename"] for a in answers]
    assert all("errors" not in a for a in answers), answers
    assert kinds.count("CancelSuccess") >= 1
    assert set(kinds) <= {"CancelSuccess", "Conflict", "RefundExceedsCaptured"}
    refunds = await refunds_of(db, number)
    assert sum(r.amount.minor for r in refunds if r.status is AttemptStatus.SUCCEEDED) == 149_90


class DiesAfterVoidingOrRefunding(DiesAfterRefunding):
    async def void(self, req):
        outcome = await super().void(req)
        if self.die_next:
            self.die_next = False
            raise RuntimeError("the process died after the provider voided")
        return outcome


async def test_a_cancel_retried_with_its_key_after_a_500_finishes_the_same_refund_and_restocks(app, db, shop,
                                                                                              gateway):
    number = await paid(app, db, shop)
    order_id = (await payment_by_number(db, number)).payment.order_id
    mutation = """mutation($o: ID!) { cancel(input: {orderId: $o, reason: "changed my mind"}) {
        __typename ... on CancelSuccess { order { status } } ... on Error { code } } }"""
    headers = {"Idempotency-Key": "cancel-once"}

    first = await app.post("/graphql", json={"query": mutation, "variables": {"o": to_global_id("Order", order_id)}},
                           headers={"Authorization": f"Bearer {shop.token('customer@example.com')}", **headers})
    retried = await gql(app, mutation, {"o": to_global_id("Order", order_id)},
                        token=shop.token("customer@example.com"), headers=headers)

    assert first.status_code == 200 and first.json()["data"] is None  # the masked internal error
    assert retried["data"]["cancel"] == {"__typename": "CancelSuccess", "order": {"status": "CANCELED"}}
    refunds = await refunds_of(db, number)
    assert len(refunds) == 1 and refunds[0].status is AttemptStatus.SUCCEEDED
    assert gateway.refund_keys == [refunds[0].idempotency_key] * 2
