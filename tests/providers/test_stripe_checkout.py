"""Payments the customer completes at Stripe (`open`): an unconfirmed PaymentIntent for Stripe.js
(Elements), or a Checkout Session (embedded or hosted page), through the official SDK against
tests/fake_stripe.py over loopback; and the Checkout webhooks read into PaymentNews.

localstripe serves neither: it has no Checkout Sessions, and it refuses
`automatic_payment_methods` on a PaymentIntent (STACK-NOTES.md), which Elements needs."""
from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe as stripe_sdk

from domain.errors import ConflictError, ProviderIntegrityError, ProviderUnavailableError
from domain.money import Money
from domain.payments import (Capability, CaptureMethod, CaptureRequest, Declined, Payment, PaymentStatus,
                             RefundRequest, RequiresAction, Succeeded, VoidRequest)
from domain.payments.provider import CheckoutKind, LineItem, OpenRequest
from domain.payments.status import AttemptKind
from providers.stripe import checkout, webhooks
from providers.stripe.wire import authorization_outcome
from tests.fake_stripe import FakeStripe, StripeRefusal
from tests.providers.conftest import Sleeps, provider_at
from tests.providers.test_stripe_adapter import key, usd

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
MANUAL, AUTOMATIC = CaptureMethod.MANUAL, CaptureMethod.AUTOMATIC
ELEMENTS, EMBEDDED, HOSTED = CheckoutKind.ELEMENTS, CheckoutKind.EMBEDDED, CheckoutKind.HOSTED
TAGS = {"order_id": "7", "payment_uuid": "0b6b0c1e-2f41-4c3e-9d1a-0f5d2c7e8a11"}
BACK, CANCEL = "https://shop.example/orders/7/paid", "https://shop.example/cart"


def open_request(kind: CheckoutKind = EMBEDDED, amount: Money = usd(100_00), *,
                 capture: CaptureMethod = AUTOMATIC, idempotency_key: str | None = None,
                 **extra) -> OpenRequest:
    urls = {} if kind is ELEMENTS else {"return_url": BACK, "cancel_url": CANCEL if kind is HOSTED else None}
    return OpenRequest(amount, idempotency_key or key(), kind, capture, metadata=TAGS, **{**urls, **extra})


async def opened(stripe, kind: CheckoutKind = EMBEDDED, **kw) -> RequiresAction:
    answer = await stripe.open(open_request(kind, **kw))
    assert isinstance(answer, RequiresAction), answer
    return answer


# --- open ---------------------------------------------------------------------------------------

async def test_stripe_offers_checkout(stripe):
    assert Capability.CHECKOUT in stripe.capabilities


async def test_elements_opens_an_unconfirmed_intent_that_waits_for_the_customer(stripe, fake):
    answer = await opened(stripe, ELEMENTS, capture=MANUAL)

    intent = fake.intents[answer.provider_ref]
    assert answer == RequiresAction(intent["id"], usd(100_00), intent["client_secret"], "elements")
    assert intent["status"] == "requires_payment_method"
    assert intent["automatic_payment_methods"] == {"enabled": True}
    assert (intent["capture_method"], intent["metadata"]) == ("manual", TAGS)
    assert await stripe.fetch(answer.provider_ref) == answer


async def test_an_elements_payment_confirmed_by_the_customer_is_fetched_as_authorized(stripe, fake):
    answer = await opened(stripe, ELEMENTS)

    fake.customer_confirms(answer.provider_ref, "pm_card_visa")
    fetched = await stripe.fetch(answer.provider_ref)

    assert isinstance(fetched, Succeeded) and fetched.amount == usd(100_00)
    assert fetched.card is not None and fetched.card.last4 == "4242"


async def test_an_elements_payment_the_card_declines_is_fetched_as_declined(stripe, fake):
    answer = await opened(stripe, ELEMENTS)

    fake.customer_confirms(answer.provider_ref, "pm_card_visa_chargeDeclinedInsufficientFunds")
    fetched = await stripe.fetch(answer.provider_ref)

    assert isinstance(fetched, Declined) and fetched.decline_code == "insufficient_funds"


async def test_an_embedded_page_is_a_session_with_its_client_secret_and_return_url(stripe, fake):
    answer = await opened(stripe, EMBEDDED, capture=MANUAL, customer_email="ada@example.com")

    session = fake.sessions[answer.provider_ref]
    assert answer == RequiresAction(session["id"], usd(100_00), session["client_secret"], "embedded")
    assert answer.provider_ref.startswith("cs_") and answer.client_secret
    assert (session["mode"], session["ui_mode"], session["return_url"]) == ("payment", "embedded_page", BACK)
    assert session["success_url"] is None and session["cancel_url"] is None
    assert session["metadata"] == TAGS and session["_intent_metadata"] == TAGS
    assert session["_capture_method"] == "manual" and session["customer_email"] == "ada@example.com"


async def test_a_hosted_page_is_a_session_to_redirect_to(stripe, fake):
    answer = await opened(stripe, HOSTED)

    session = fake.sessions[answer.provider_ref]
    assert answer == RequiresAction(session["id"], usd(100_00), "", "hosted", redirect_url=session["url"])
    assert (session["ui_mode"], session["success_url"]) == ("hosted_page", BACK)
    assert session["cancel_url"] == CANCEL
    assert session["return_url"] is None


async def test_the_lines_reach_the_page_in_stripes_units(stripe, fake):
    lines = (LineItem("Mug", Money.of(500, "ISK"), 2), LineItem("Tea", Money.of(500, "ISK"), 1))

    answer = await opened(stripe, amount=Money.of(1500, "ISK"), lines=lines)

    assert answer.amount == Money.of(1500, "ISK")
    assert [(line["description"], line["unit_amount"], line["quantity"], line["currency"])
            for line in fake.sessions[answer.provider_ref]["_lines"]] == [
        ("Mug", 50000, 2, "isk"), ("Tea", 50000, 1, "isk")]


async def test_without_lines_the_page_shows_one_line_for_the_whole_amount(stripe, fake):
    answer = await opened(stripe, amount=Money.of(1500, "JPY"))

    lines = fake.sessions[answer.provider_ref]["_lines"]
    assert [(line["unit_amount"], line["quantity"]) for line in lines] == [(1500, 1)]


@pytest.mark.parametrize("kind", [ELEMENTS, EMBEDDED, HOSTED])
async def test_a_page_for_another_amount_than_asked_is_refused_as_a_provider_contradiction(stripe, fake, kind):
    fake.tamper = lambda body: {**body, **{f: body[f] + 1 for f in ("amount", "amount_total") if f in body}}

    with pytest.raises(ProviderIntegrityError):
        await stripe.open(open_request(kind))


async def test_the_same_key_opens_one_session_and_answers_the_same(stripe, fake):
    same = key()

    first = await stripe.open(open_request(idempotency_key=same))
    second = await stripe.open(open_request(idempotency_key=same))

    assert first == second and len(fake.sessions) == 1
    assert [k for _m, path, k, _v in fake.requests if path == "/v1/checkout/sessions"] == [same, same]


async def test_a_page_stripe_refuses_is_a_decline_not_an_exception(stripe, fake):
    nameless = (LineItem("", usd(100_00), 1),)  # Stripe requires product_data[name]

    answer = await stripe.open(open_request(lines=nameless))

    assert isinstance(answer, Declined) and answer.provider_ref is None
    assert answer.decline_code == "parameter_missing" and fake.sessions == {}


# --- expires_at -----------------------------------------------------------------------------------

NOW = datetime(2026, 6, 15, 12, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(("wanted", "sent"), [
    (None, None),  # Stripe's default: 24 hours
    (NOW + timedelta(minutes=10), datetime(2026, 6, 15, 12, 35, tzinfo=UTC)),  # 30 min + margin, on the grid
    (NOW + timedelta(minutes=30), datetime(2026, 6, 15, 12, 35, tzinfo=UTC)),
    (NOW + timedelta(hours=2), NOW + timedelta(hours=2)),
    (NOW + timedelta(days=3), NOW + timedelta(hours=24) - checkout.MARGIN),
])
def test_expires_at_is_moved_into_stripes_window(wanted, sent):
    assert checkout.expires_at(wanted, NOW) == (None if sent is None else int(sent.timestamp()))


def test_a_rounded_expiry_is_the_same_for_a_retry_a_moment_later():
    wanted = NOW + timedelta(minutes=5)

    assert checkout.expires_at(wanted, NOW) == checkout.expires_at(wanted, NOW + timedelta(seconds=40))


@pytest.mark.parametrize("minutes", [1, 45, 60 * 30])
async def test_stripe_accepts_the_expiry_sent_for_any_reservation(stripe, fake, minutes):
    now = datetime.now(UTC)

    answer = await opened(stripe, expires_at=now + timedelta(minutes=minutes))

    expires = fake.sessions[answer.provider_ref]["expires_at"]
    assert now.timestamp() + 30 * 60 <= expires <= now.timestamp() + 24 * 3600
    if minutes == 45:
        assert expires == math.ceil((now + timedelta(minutes=45)).timestamp())


# --- fetch, capture, void and refund through the session's reference -----------------------------

async def test_an_open_session_is_fetched_as_still_waiting_for_the_customer(stripe):
    answer = await opened(stripe, HOSTED)

    assert await stripe.fetch(answer.provider_ref) == answer


async def test_a_paid_session_is_fetched_as_its_intent_under_the_sessions_reference(stripe, fake):
    answer = await opened(stripe)

    fake.complete_session(answer.provider_ref, "pm_card_mastercard")
    fetched = await stripe.fetch(answer.provider_ref)

    assert isinstance(fetched, Succeeded) and fetched.provider_ref == answer.provider_ref
    assert fetched.amount == usd(100_00) and fetched.card.last4 == "4444"


async def test_a_declined_try_on_the_page_leaves_the_session_open(stripe, fake):
    answer = await opened(stripe)

    session = fake.complete_session(answer.provider_ref, "pm_card_visa_chargeDeclined")

    assert session["status"] == "open" and fake.intents[session["payment_intent"]]["last_payment_error"]
    assert await stripe.fetch(answer.provider_ref) == answer


async def test_an_expired_session_is_fetched_as_declined_and_can_no_longer_be_paid(stripe, fake):
    answer = await opened(stripe)

    fake.expire_session(answer.provider_ref)
    with pytest.raises(StripeRefusal):
        fake.complete_session(answer.provider_ref)

    fetched = await stripe.fetch(answer.provider_ref)
    assert isinstance(fetched, Declined)
    assert (fetched.provider_ref, fetched.amount, fetched.decline_code) == (answer.provider_ref, usd(100_00),
                                                                            "expired")


async def test_a_held_session_is_captured_in_part_through_its_intent(stripe, fake):
    answer = await opened(stripe, capture=MANUAL)
    session = fake.complete_session(answer.provider_ref)
    assert session["payment_status"] == "unpaid"
    assert isinstance(await stripe.fetch(answer.provider_ref), Succeeded)

    captured = await stripe.capture(CaptureRequest(answer.provider_ref, usd(60_00), key()))

    assert captured == Succeeded(answer.provider_ref, usd(60_00), captured.card)
    assert fake.intents[session["payment_intent"]]["amount_received"] == 60_00


async def test_capturing_a_session_nobody_paid_is_declined(stripe):
    answer = await opened(stripe, capture=MANUAL)

    captured = await stripe.capture(CaptureRequest(answer.provider_ref, usd(100_00), key()))

    assert isinstance(captured, Declined) and captured.decline_code == "payment_intent_unexpected_state"


async def test_voiding_an_open_session_expires_it(stripe, fake):
    answer = await opened(stripe)
    fake.complete_session(answer.provider_ref, "pm_card_visa_chargeDeclined")  # a try, declined

    voided = await stripe.void(VoidRequest(answer.provider_ref, key()))

    session = fake.sessions[answer.provider_ref]
    assert voided == Succeeded(answer.provider_ref, usd(100_00))
    assert session["status"] == "expired" and fake.intents[session["payment_intent"]]["status"] == "canceled"


async def test_voiding_a_held_session_cancels_its_intent(stripe, fake):
    answer = await opened(stripe, capture=MANUAL)
    session = fake.complete_session(answer.provider_ref)

    voided = await stripe.void(VoidRequest(answer.provider_ref, key()))

    assert voided == Succeeded(answer.provider_ref, usd(100_00), voided.card)
    assert fake.intents[session["payment_intent"]]["status"] == "canceled"


async def test_voiding_an_expired_session_succeeds_at_once_and_a_retry_answers_the_same(stripe, fake):
    answer = await opened(stripe)
    fake.expire_session(answer.provider_ref)
    same = key()

    first = await stripe.void(VoidRequest(answer.provider_ref, same))
    again = await stripe.void(VoidRequest(answer.provider_ref, same))

    assert first == again == Succeeded(answer.provider_ref, usd(100_00))


async def test_voiding_a_paid_session_is_declined(stripe, fake):
    answer = await opened(stripe)
    fake.complete_session(answer.provider_ref)

    voided = await stripe.void(VoidRequest(answer.provider_ref, key()))

    assert isinstance(voided, Declined) and voided.provider_ref == answer.provider_ref
    assert voided.decline_code == "payment_intent_unexpected_state"


async def test_a_void_racing_the_customers_payment_cancels_what_they_just_authorized(stripe, fake):
    answer = await opened(stripe, capture=MANUAL)
    session = fake.complete_session(answer.provider_ref)
    fake.sessions[answer.provider_ref]["status"] = "open"  # as our read saw it, a moment before
    reads = []

    def completed_again(body):
        if body.get("object") == "checkout.session":
            reads.append(body["id"])
            if len(reads) == 1:
                fake.sessions[answer.provider_ref]["status"] = "complete"
        return body

    fake.tamper = completed_again
    voided = await stripe.void(VoidRequest(answer.provider_ref, key()))

    assert voided == Succeeded(answer.provider_ref, usd(100_00), voided.card)
    assert fake.intents[session["payment_intent"]]["status"] == "canceled"
    at = f"/v1/checkout/sessions/{answer.provider_ref}"
    assert [p for _m, p, *_ in fake.requests if p.startswith(at)] == [at, f"{at}/expire", at]


async def test_a_paid_session_is_refunded_through_its_intent(stripe, fake):
    answer = await opened(stripe)
    session = fake.complete_session(answer.provider_ref)

    refunded = await stripe.refund(RefundRequest(answer.provider_ref, usd(30_00), key(), reason="damaged"))

    assert isinstance(refunded, Succeeded) and refunded.provider_ref.startswith("re_")
    assert refunded.amount == usd(30_00)
    assert fake.refunds[refunded.provider_ref]["payment_intent"] == session["payment_intent"]
    assert await stripe.fetch(refunded.provider_ref) == refunded


async def test_refunding_an_unpaid_session_is_declined(stripe):
    answer = await opened(stripe)

    refunded = await stripe.refund(RefundRequest(answer.provider_ref, usd(30_00), key()))

    assert isinstance(refunded, Declined) and refunded.provider_ref is None


async def test_an_unknown_session_is_declined_as_resource_missing(stripe):
    assert (await stripe.fetch("cs_test_nobody")).decline_code == "resource_missing"
    assert (await stripe.void(VoidRequest("cs_test_nobody", key()))).decline_code == "resource_missing"


async def test_a_payment_opened_as_a_session_keeps_its_reference_from_open_to_refund(stripe, fake):
    payment = Payment.new(order_id=7, buyer_id=1, provider="stripe", amount=usd(100_00), now=NOW,
                          capture_method=MANUAL)
    auth = payment.start_authorization(now=NOW)
    request = open_request(capture=MANUAL, idempotency_key=auth.idempotency_key)
    payment.finish_attempt(auth.seq, await stripe.open(request), now=NOW)
    waiting = payment.status

    fake.complete_session(payment.provider_ref)
    payment.finish_attempt(auth.seq, await stripe.fetch(payment.provider_ref), now=NOW)
    capture = payment.start_capture(usd(80_00), now=NOW)
    payment.finish_attempt(capture.seq, await stripe.capture(payment.capture_request(capture)), now=NOW)
    refund = payment.start_refund(usd(20_00), now=NOW)
    payment.finish_attempt(refund.seq, await stripe.refund(payment.refund_request(refund)), now=NOW)

    assert waiting is PaymentStatus.REQUIRES_ACTION
    assert payment.status is PaymentStatus.SUCCEEDED and payment.provider_ref.startswith("cs_")
    assert (payment.amount_captured, payment.amount_refunded) == (usd(80_00), usd(20_00))


async def test_a_closed_provider_makes_no_more_calls(fake_server, fake):
    provider = provider_at(fake_server[1], Sleeps())

    await provider.close()

    with pytest.raises(ProviderUnavailableError):
        await provider.fetch("pi_any")
    assert fake.requests == []


# --- the fake's own rules: Stripe's refusals -------------------------------------------------------

AUTH = {"Authorization": "Bearer sk_test_x"}


def form(**params) -> dict:
    return {"mode": "payment", "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "1000",
            "line_items[0][price_data][product_data][name]": "Mug", "line_items[0][quantity]": "1", **params}


@pytest.mark.parametrize(("params", "param"), [
    ({"ui_mode": "hosted_page", "return_url": BACK}, "return_url"),
    ({"ui_mode": "embedded_page", "return_url": BACK, "success_url": BACK}, "success_url"),
    ({"ui_mode": "embedded_page"}, "return_url"),
    ({"ui_mode": "embedded"}, "ui_mode"),
    ({"mode": None}, "mode"),
    ({"line_items[0][quantity]": None}, "quantity"),
    ({"expires_at": str(int(time.time()) + 29 * 60)}, "expires_at"),
    ({"expires_at": str(int(time.time()) + 25 * 3600)}, "expires_at"),
])
async def test_the_fake_refuses_sessions_stripe_refuses(fake_server, fake, params, param):
    body = {k: v for k, v in form(**params).items() if v is not None}
    async with httpx.AsyncClient(base_url=fake_server[1], headers=AUTH) as http:
        response = await http.post("/v1/checkout/sessions", data=body)

    assert response.status_code == 400
    assert param in response.json()["error"]["param"]


async def test_only_an_open_session_can_be_expired(fake_server, fake):
    async with httpx.AsyncClient(base_url=fake_server[1], headers=AUTH) as http:
        created = (await http.post("/v1/checkout/sessions", data=form(success_url=BACK))).json()
        first = await http.post(f"/v1/checkout/sessions/{created['id']}/expire")
        again = await http.post(f"/v1/checkout/sessions/{created['id']}/expire")

    assert first.json()["status"] == "expired"
    assert again.status_code == 400 and "status of `expired`" in again.json()["error"]["message"]


# --- wire: an intent opened for Elements ----------------------------------------------------------

def test_an_intent_awaiting_its_payment_method_is_an_action_and_after_a_decline_a_decline():
    intent = {"id": "pi_1", "amount": 500, "currency": "usd", "status": "requires_payment_method",
              "client_secret": "pi_1_secret_x", "last_payment_error": None}

    waiting = authorization_outcome(intent)
    declined = authorization_outcome({**intent, "last_payment_error": {"decline_code": "lost_card"}})

    assert waiting == RequiresAction("pi_1", usd(5_00), "pi_1_secret_x", "elements")
    assert isinstance(declined, Declined) and declined.decline_code == "lost_card"


# --- webhooks: checkout.session.* read into PaymentNews -----------------------------------------

SECRET = "whsec_test_checkout"


def read(event: dict):
    raw = json.dumps(event).encode()
    header = stripe_sdk.WebhookSignature.generate_signature_header(raw.decode(), SECRET)
    verified = webhooks.verified_event(raw, header, SECRET)
    assert webhooks.handled(verified)
    return webhooks.payment_news(verified)


async def test_a_paid_session_settles_the_open_authorization_for_its_total(stripe, fake):
    answer = await opened(stripe)
    session = fake.complete_session(answer.provider_ref)

    news = read(FakeStripe.event(session, "checkout.session.completed", "evt_cs_1"))

    assert (news.event_id, news.provider_ref, news.order_id, news.payment_uuid) == (
        "evt_cs_1", answer.provider_ref, 7, TAGS["payment_uuid"])
    assert news.outcomes == {AttemptKind.AUTHORIZE: Succeeded(answer.provider_ref, usd(100_00))}
    assert not news.reconcile


async def test_an_unpaid_completed_session_is_reconciled_through_its_intent(stripe, fake):
    answer = await opened(stripe, capture=MANUAL)
    session = fake.complete_session(answer.provider_ref)

    news = read(FakeStripe.event(session, "checkout.session.completed"))

    assert news.reconcile and news.outcomes == {} and news.provider_ref == answer.provider_ref
    assert isinstance(await stripe.fetch(news.provider_ref), Succeeded)  # what reconciling reads


@pytest.mark.parametrize("kind", ["checkout.session.async_payment_succeeded",
                                  "checkout.session.async_payment_failed"])
async def test_a_delayed_payments_news_is_reconciled(stripe, fake, kind):
    answer = await opened(stripe)
    session = {**fake.complete_session(answer.provider_ref), "payment_status": "unpaid"}

    news = read(FakeStripe.event(session, kind))

    assert news.reconcile and news.order_id == 7 and news.provider_ref == answer.provider_ref


async def test_an_expired_session_declines_the_authorization_and_settles_a_void(stripe, fake):
    answer = await opened(stripe)
    session = fake.expire_session(answer.provider_ref)

    news = read(FakeStripe.event(session, "checkout.session.expired"))

    assert news.outcomes[AttemptKind.AUTHORIZE] == Declined(
        answer.provider_ref, usd(100_00), "expired", news.outcomes[AttemptKind.AUTHORIZE].message)
    assert news.outcomes[AttemptKind.VOID] == Succeeded(answer.provider_ref, usd(100_00))
    assert await stripe.fetch(answer.provider_ref) == news.outcomes[AttemptKind.AUTHORIZE]


def test_the_checkout_events_are_handled():
    checkout_events = {"checkout.session.completed", "checkout.session.expired",
                       "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed"}
    assert checkout_events <= webhooks.HANDLED
