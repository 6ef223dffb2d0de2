"""Refunds racing each other, a cancellation and a refund request's approval, over real HTTP on
SQLite and PostgreSQL: whatever the interleaving, the money given back never exceeds what was
captured, exactly the refunds that fit succeed, every refusal is a typed error (never an
internal one), and the ledger agrees with the payment and balances.
"""
from __future__ import annotations

import asyncio

from sqlmodel import select

from db.ledger_queries import all_entries
from db.payment_tables import PaymentAttemptRow
from domain.ledger import EntryKind
from tests.graphql import gql
from tests.payments_fixtures import assert_ledger_balances
from tests.test_payment_mutations import _paid

CUSTOMER, STAFF = "customer@example.com", "staff@example.com"
CAPTURED = 2 * 14_99  # two enamel mugs
REFUND = """
mutation($p: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $p, amount: $amount, reason: "race"}) {
    __typename ... on Refund { amount { amount } status } ... on Error { code message }
  }
}"""
CANCEL = """
mutation($o: ID!) {
  cancel(input: {orderId: $o, reason: "changed my mind"}) {
    __typename ... on CancelSuccess { refund { amount { amount } status } } ... on Error { code message }
  }
}"""
ASK = """
mutation($p: ID!, $amount: MinorUnits) {
  refundRequest(input: {paymentId: $p, amount: $amount, reason: "one arrived broken"}) {
    __typename ... on RefundRequest { id } ... on Error { code message }
  }
}"""
APPROVE = """
mutation($r: ID!) {
  refundRequestApprove(input: {id: $r}) {
    __typename ... on RefundRequestDecision { refund { amount { amount } status } } ... on Error { code message }
  }
}"""
STATE = """
query($p: ID!, $o: ID!) {
  payment(id: $p) { amountCaptured { amount } amountRefunded { amount } }
  order(id: $o) { status }
}"""


def field(body: dict, name: str) -> dict:
    assert "errors" not in body, body  # an internal error or a refusal outside the union
    return body["data"][name]


async def refunded_attempts(db) -> list[int]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(PaymentAttemptRow.amount_minor).where(
            PaymentAttemptRow.kind == "refund", PaymentAttemptRow.status == "succeeded"))).all()
    return sorted(rows)


async def refund_entries(db) -> int:
    return sum(1 for entry in await all_entries(db) if entry.kind is EntryKind.REFUND)


async def refund_all_at_once(client, shop, amounts: list[int]) -> tuple[dict, list[dict]]:
    order, payment = await _paid(client, shop)
    assert payment["amountCaptured"] == {"amount": CAPTURED}

    answers = await asyncio.gather(*[
        gql(client, REFUND, {"p": payment["id"], "amount": amount}, token=shop.token(STAFF)) for amount in amounts])

    return {"order": order, "payment": payment}, [field(a, "refund") for a in answers]


async def test_refunds_that_drain_the_capture_exactly_all_succeed_and_nothing_is_left(client, db, shop):
    amounts = [300] * 9 + [CAPTURED - 9 * 300]

    paid, results = await refund_all_at_once(client, shop, amounts)

    assert [r["__typename"] for r in results] == ["Refund"] * 10
    state = await gql(client, STATE, {"p": paid["payment"]["id"], "o": paid["order"]["id"]}, token=shop.token(STAFF))
    assert state["data"]["payment"]["amountRefunded"] == {"amount": CAPTURED}
    assert state["data"]["order"]["status"] == "REFUNDED"
    assert await refunded_attempts(db) == sorted(amounts)
    assert await refund_entries(db) == 10
    one_more = await gql(client, REFUND, {"p": paid["payment"]["id"], "amount": 1}, token=shop.token(STAFF))
    assert field(one_more, "refund")["__typename"] == "RefundExceedsCaptured"
    await assert_ledger_balances(db)


async def test_refunds_one_unit_more_than_the_capture_leave_exactly_one_refused(client, db, shop):
    amounts = [300] * 9 + [CAPTURED + 1 - 9 * 300]

    paid, results = await refund_all_at_once(client, shop, amounts)

    refused = [(a, r) for a, r in zip(amounts, results, strict=True) if r["__typename"] != "Refund"]
    assert len(refused) == 1 and refused[0][1]["__typename"] == "RefundExceedsCaptured", results
    given_back = CAPTURED + 1 - refused[0][0]
    state = await gql(client, STATE, {"p": paid["payment"]["id"], "o": paid["order"]["id"]}, token=shop.token(STAFF))
    assert state["data"]["payment"]["amountRefunded"] == {"amount": given_back}
    assert sum(await refunded_attempts(db)) == given_back <= CAPTURED
    assert await refund_entries(db) == 9
    await assert_ledger_balances(db)


async def test_a_refund_a_cancellation_and_an_approval_racing_never_give_back_more_than_was_captured(
        client, db, shop):
    for _ in range(4):  # a few interleavings
        order, payment = await _paid(client, shop)
        asked = field(await gql(client, ASK, {"p": payment["id"], "amount": 1_000}, token=shop.token(CUSTOMER)),
                      "refundRequest")
        before = sum(await refunded_attempts(db))

        refund, cancel, approve = await asyncio.gather(
            gql(client, REFUND, {"p": payment["id"], "amount": 1_000}, token=shop.token(STAFF)),
            gql(client, CANCEL, {"o": order["id"]}, token=shop.token(CUSTOMER)),
            gql(client, APPROVE, {"r": asked["id"]}, token=shop.token(STAFF)))

        refund, cancel, approve = field(refund, "refund"), field(cancel, "cancel"), field(approve,
                                                                                           "refundRequestApprove")
        given = [refund["amount"]["amount"] if refund["__typename"] == "Refund" else 0,
                 (cancel["refund"] or {"amount": {"amount": 0}})["amount"]["amount"]
                 if cancel["__typename"] == "CancelSuccess" else 0,
                 approve["refund"]["amount"]["amount"] if approve["__typename"] == "RefundRequestDecision" else 0]
        state = await gql(client, STATE, {"p": payment["id"], "o": order["id"]}, token=shop.token(STAFF))
        refunded = state["data"]["payment"]["amountRefunded"]["amount"]
        assert refunded == sum(given) == sum(await refunded_attempts(db)) - before <= CAPTURED, (
            refund, cancel, approve)
        # The cancellation gives back whatever the others left, so it never loses to them; what it
        # leaves nothing for is refused with a typed error.
        assert cancel["__typename"] == "CancelSuccess", cancel
        assert (refunded, state["data"]["order"]["status"]) == (CAPTURED, "CANCELED")
        assert refund["__typename"] in ("Refund", "RefundExceedsCaptured", "Conflict"), refund
        assert approve["__typename"] in ("RefundRequestDecision", "RefundExceedsCaptured", "Conflict"), approve
        await assert_ledger_balances(db)


async def test_the_buyers_concurrent_refunds_on_seed_004_one_cent_over_the_capture_leave_one_refused(
        client, db, shop):
    order, payment = await _paid(client, shop)
    headers = {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}
    cents = [300] * 9 + [CAPTURED - 9 * 300, 1]  # the capture, then one cent more

    answers = await asyncio.gather(*[
        client.post("/api/payment/refund/", json={"transaction_id": payment["number"], "reason": "race",
                                                  "amount": f"{c // 100}.{c % 100:02d}"}, headers=headers)
        for c in cents])

    refused = [(c, a.status_code, a.json()) for c, a in zip(cents, answers, strict=True) if a.status_code != 200]
    assert len(refused) == 1, [a.text for a in answers]
    [(cents_refused, status, body)] = refused
    assert status == 400 and set(body) == {"error"}  # the seed's shape for a business refusal
    given_back = CAPTURED + 1 - cents_refused
    state = await gql(client, STATE, {"p": payment["id"], "o": order["id"]}, token=shop.token(STAFF))
    assert state["data"]["payment"]["amountRefunded"] == {"amount": given_back}
    assert sum(await refunded_attempts(db)) == given_back <= CAPTURED
    await assert_ledger_balances(db)
