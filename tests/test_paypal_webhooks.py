"""PayPal's webhook over real HTTP, on SQLite and PostgreSQL: deliveries signed as PayPal signs
them (tests/fake_paypal_webhooks.py), verified offline with the certificate fetched from the
allowed host, or by PayPal's verify API; acted on once, never backwards; forged, stale, replayed
and cross-account deliveries change nothing."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select

from db.dispute_tables import DisputeRow
from db.payment_tables import PaymentRow, WebhookEventRow
from domain.ledger import balance_of
from domain.ledger.accounts import chargebacks, disputes
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.fake_paypal import CLIENT_ID, CLIENT_SECRET
from tests.fake_paypal_webhooks import event
from tests.payments_fixtures import assert_ledger_balances
from tests.paypal_fixtures import WEBHOOK_ID, paypal_providers
from tests.test_paypal_seed_002 import post

HOOK = "/api/v1/payments/webhooks/paypal/"


async def payment(db, order_id: str) -> PaymentRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(PaymentRow).where(PaymentRow.provider_ref == order_id))).one()


async def events(db) -> list[WebhookEventRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(WebhookEventRow))).all())


async def deliver(http, paypal, evt: dict, webhook_id: str = WEBHOOK_ID, **kwargs) -> httpx.Response:
    body, headers = paypal.signer.sign(evt, webhook_id, **kwargs)
    return await http.post(HOOK, content=body, headers=headers)


async def opened(http, shop, paypal, funding: str = "ok") -> str:
    created = await post(http, shop, "create-order", {"amount": 12, "currency": "USD"})
    order_id = created.json()["order_id"]
    paypal.approve(order_id, funding)
    return order_id


async def test_the_buyers_approval_announced_by_paypal_captures_the_order_once(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal)
    approved = event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id], resource_type="checkout-order")

    first = await deliver(pp_http, paypal, approved)
    again = await deliver(pp_http, paypal, approved)

    assert first.json() == {"received": True, "state": "processed", "duplicate": False}
    assert again.json() == {"received": True, "state": "processed", "duplicate": True}
    assert (await payment(db, order_id)).status == "succeeded"
    assert len(paypal.captures) == 1
    await assert_ledger_balances(db)


async def test_a_pending_capture_completes_by_webhook_and_a_late_pending_news_changes_nothing(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal, funding="pending")
    assert (await post(pp_http, shop, "capture-order", {"order_id": order_id})).json()["captured"] is False
    assert (await payment(db, order_id)).status == "processing"
    (capture_id,) = paypal.captures
    pending = event("PAYMENT.CAPTURE.PENDING", dict(paypal.captures[capture_id]))
    completed = event("PAYMENT.CAPTURE.COMPLETED", paypal.settle_capture(capture_id, "COMPLETED"))

    done = await deliver(pp_http, paypal, completed)
    late = await deliver(pp_http, paypal, pending)  # delivered out of order

    assert done.json()["state"] == "processed" and late.json()["state"] == "ignored"
    assert (await payment(db, order_id)).status == "succeeded"
    assert (await post(pp_http, shop, "capture-order", {"order_id": order_id})).json()["captured"] is True
    await assert_ledger_balances(db)


async def test_a_denied_capture_fails_the_payment(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal, funding="pending")
    await post(pp_http, shop, "capture-order", {"order_id": order_id})
    (capture_id,) = paypal.captures

    answer = await deliver(pp_http, paypal, event("PAYMENT.CAPTURE.DENIED", paypal.settle_capture(capture_id, "DENIED")))

    assert answer.json()["state"] == "processed"
    row = await payment(db, order_id)
    assert row.status == "failed" and row.decline_code == "capture_denied"


async def test_a_pending_refund_completed_at_paypal_is_booked_by_its_webhook(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal)
    await post(pp_http, shop, "capture-order", {"order_id": order_id})
    (capture_id,) = paypal.captures
    paypal.refunds_pending()
    refund = await post(pp_http, shop, "refund-payment", {"capture_id": capture_id}, "staff@example.com")
    assert refund.status_code == 202 and refund.json()["status"] == "PENDING"

    done = paypal.settle_refund(refund.json()["refund_id"], "COMPLETED")
    answer = await deliver(pp_http, paypal, event("PAYMENT.CAPTURE.REFUNDED", done, resource_type="refund"))

    assert answer.json()["state"] == "processed"
    assert (await payment(db, order_id)).refunded_minor == 1200
    await assert_ledger_balances(db)


@pytest.mark.parametrize("how", ["forged", "stale", "cross-account", "untrusted cert host", "no headers"])
async def test_a_delivery_not_paypals_for_our_webhook_is_refused_and_changes_nothing(pp_http, db, shop, paypal, how):
    order_id = await opened(pp_http, shop, paypal)
    approved = event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id], resource_type="checkout-order")
    if how == "forged":
        body, headers = paypal.signer.sign(approved, WEBHOOK_ID,
                                           key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif how == "stale":
        body, headers = paypal.signer.sign(approved, WEBHOOK_ID,
                                           at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    elif how == "cross-account":
        body, headers = paypal.signer.sign(approved, "9XL90610J3647323C")  # another account's webhook
    else:
        body, headers = paypal.signer.sign(approved, WEBHOOK_ID)
        if how == "no headers":
            headers = {"Content-Type": "application/json"}
        else:
            headers["PAYPAL-CERT-URL"] = "https://evil.example/v1/notifications/certs/CERT-1"

    answer = await pp_http.post(HOOK, content=body, headers=headers)

    assert answer.status_code == 400 and list(answer.json()) == ["error"]
    assert (await payment(db, order_id)).status == "requires_action"
    assert paypal.captures == {} and await events(db) == []


async def test_a_body_changed_after_signing_is_refused(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal)
    body, headers = paypal.signer.sign(event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id]), WEBHOOK_ID)

    answer = await pp_http.post(HOOK, content=body.replace(b"APPROVED", b"APPROVEd"), headers=headers)

    assert answer.status_code == 400 and paypal.captures == {}


async def test_twenty_concurrent_deliveries_of_one_event_make_one_change(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal, funding="pending")
    await post(pp_http, shop, "capture-order", {"order_id": order_id})
    (capture_id,) = paypal.captures
    completed = event("PAYMENT.CAPTURE.COMPLETED", paypal.settle_capture(capture_id, "COMPLETED"))
    body, headers = paypal.signer.sign(completed, WEBHOOK_ID)

    answers = await asyncio.gather(*(pp_http.post(HOOK, content=body, headers=headers) for _ in range(20)))

    assert [a.status_code for a in answers] == [200] * 20
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert (await payment(db, order_id)).status == "succeeded"
    assert len(await events(db)) == 1
    entries = await assert_ledger_balances(db)
    assert sum(e.kind == "capture" for e in entries) == 1


def dispute_event(kind: str, capture_id: str, status: str, outcome: str | None = None) -> dict:
    resource = {"dispute_id": "PP-D-27803", "status": status, "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                "dispute_amount": {"currency_code": "USD", "value": "12.00"},
                "disputed_transactions": [{"seller_transaction_id": capture_id}]}
    if outcome:
        resource["dispute_outcome"] = {"outcome_code": outcome}
    return event(kind, resource, resource_type="dispute")


async def dispute_row(db) -> DisputeRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(DisputeRow))).one()


@pytest.mark.parametrize(("outcome", "status", "lost"), [("RESOLVED_BUYER_FAVOUR", "lost", 1200),
                                                        ("RESOLVED_SELLER_FAVOUR", "won", 0)])
async def test_a_dispute_created_then_resolved_moves_the_dispute_and_the_ledger_once(
        pp_http, db, shop, paypal, outcome, status, lost):
    order_id = await opened(pp_http, shop, paypal)
    await post(pp_http, shop, "capture-order", {"order_id": order_id})
    (capture_id,) = paypal.captures
    created = dispute_event("CUSTOMER.DISPUTE.CREATED", capture_id, "OPEN")
    resolved = dispute_event("CUSTOMER.DISPUTE.RESOLVED", capture_id, "RESOLVED", outcome)

    first = await deliver(pp_http, paypal, created)
    again = await deliver(pp_http, paypal, created)
    opened_row = await dispute_row(db)
    opened_entries = await assert_ledger_balances(db)
    end = await deliver(pp_http, paypal, resolved)
    replays = [await deliver(pp_http, paypal, e) for e in (resolved, created)]

    assert first.json() == {"received": True, "state": "processed", "duplicate": False}
    assert again.json()["duplicate"] is True and end.json()["state"] == "processed"
    assert [r.json()["duplicate"] for r in replays] == [True, True]
    assert (opened_row.status, opened_row.provider, opened_row.provider_ref) == ("opened", "paypal", "PP-D-27803")
    row = await dispute_row(db)
    assert (row.status, row.payment_id) == (status, (await payment(db, order_id)).id)
    entries = await assert_ledger_balances(db)
    kinds = [e.kind for e in entries]
    assert [e.kind for e in opened_entries].count("dispute") == 1
    assert (kinds.count("dispute"), kinds.count("dispute_lost"), kinds.count("dispute_reinstated")) == (
        1, int(status == "lost"), int(status == "won"))
    assert balance_of(opened_entries, disputes("USD")).minor == 1200
    assert balance_of(entries, disputes("USD")).minor == 0
    assert balance_of(entries, chargebacks("USD")).minor == lost


async def test_a_dispute_of_a_capture_not_ours_is_stored_as_ignored(pp_http, db, paypal):
    answer = await deliver(pp_http, paypal, dispute_event("CUSTOMER.DISPUTE.CREATED", "NOT-OURS-1", "OPEN"))

    assert answer.json()["state"] == "ignored"
    assert [e.event_type for e in await events(db)] == ["CUSTOMER.DISPUTE.CREATED"]
    await assert_ledger_balances(db)


async def test_the_certificate_is_fetched_once_and_cached(pp_http, db, shop, paypal):
    paypal.signer.cert_fetches = 0
    for _ in range(3):
        order_id = await opened(pp_http, shop, paypal)
        await deliver(pp_http, paypal, event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id]))

    assert paypal.signer.cert_fetches <= 1


# --- verified by PayPal's verify-webhook-signature API ------------------------------------------

@pytest.fixture(scope="module")
async def api_verified_app(database_url, shared_db, fake_paypal_server) -> AsyncIterator[str]:
    url = fake_paypal_server[1]
    settings = settings_for(database_url, paypal_client_id=CLIENT_ID, paypal_client_secret=CLIENT_SECRET,
                            paypal_webhook_id=WEBHOOK_ID, paypal_api_base=url, paypal_webhook_verification="api")
    app = create_app(settings, db=shared_db, providers=paypal_providers(url, shared_db, verification="api"))
    server, task, app_url = await start_server(app)
    yield app_url
    await stop_server(server, task)


async def test_paypals_verify_api_accepts_its_delivery_and_refuses_another_accounts(api_verified_app, db, shop,
                                                                                      paypal):
    async with httpx.AsyncClient(base_url=api_verified_app, timeout=30) as http:
        order_id = await opened(http, shop, paypal)
        approved = event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id])

        foreign = await deliver(http, paypal, approved, webhook_id="9XL90610J3647323C")
        assert foreign.status_code == 400 and paypal.captures == {}
        ours = await deliver(http, paypal, approved)

    assert ours.json()["state"] == "processed"
    assert (await payment(db, order_id)).status == "succeeded"
    verified = [c for c in paypal.calls if c[1] == "/v1/notifications/verify-webhook-signature"]
    assert len(verified) == 2


async def test_without_a_webhook_id_nothing_is_verified(database_url, shared_db, fake_paypal_server, db, paypal):
    url = fake_paypal_server[1]
    app = create_app(settings_for(database_url), db=shared_db,
                     providers=paypal_providers(url, shared_db, webhook_id=None))
    server, task, app_url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=app_url) as http:
            answer = await deliver(http, paypal, event("CHECKOUT.ORDER.APPROVED", {"id": "X"}))
    finally:
        await stop_server(server, task)

    assert answer.status_code == 400 and "PAYGATE_PAYPAL_WEBHOOK_ID" in answer.json()["error"]


async def test_twenty_concurrent_approvals_capture_once_at_paypal_and_in_the_books(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal)
    body, headers = paypal.signer.sign(event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id]), WEBHOOK_ID)

    answers = await asyncio.gather(*(pp_http.post(HOOK, content=body, headers=headers) for _ in range(20)))

    assert [a.status_code for a in answers] == [200] * 20
    assert len(paypal.captures) == 1
    assert (await payment(db, order_id)).status == "succeeded"
    entries = await assert_ledger_balances(db)
    assert sum(e.kind == "capture" for e in entries) == 1


async def test_paypals_verify_api_not_answering_is_a_503_and_nothing_is_stored(api_verified_app, db, shop, paypal):
    async with httpx.AsyncClient(base_url=api_verified_app, timeout=30) as http:
        order_id = await opened(http, shop, paypal)
        paypal.fail_next(3)
        answer = await deliver(http, paypal, event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id]))

    assert answer.status_code == 503 and list(answer.json()) == ["error"]
    assert await events(db) == [] and paypal.captures == {}


async def test_an_event_on_the_seed_003_path_acts_once_with_the_seed_002_path(pp_http, db, shop, paypal):
    order_id = await opened(pp_http, shop, paypal)
    body, headers = paypal.signer.sign(event("CHECKOUT.ORDER.APPROVED", paypal.orders[order_id],
                                             resource_type="checkout-order"), WEBHOOK_ID)

    tampered = await pp_http.post("/payments/webhooks/paypal", content=body.replace(b"APPROVED", b"APPROVEd"),
                                  headers=headers)
    first = await pp_http.post("/payments/webhooks/paypal", content=body, headers=headers)
    again = await pp_http.post(HOOK, content=body, headers=headers)

    assert tampered.status_code == 400 and set(tampered.json()) == {"detail"}
    assert first.json() == {"received": True, "state": "processed", "duplicate": False}
    assert again.json()["duplicate"] is True
    assert (await payment(db, order_id)).status == "succeeded" and len(paypal.captures) == 1
