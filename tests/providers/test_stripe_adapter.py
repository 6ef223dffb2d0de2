"""The Stripe adapter through the official SDK, over HTTP on loopback: against localstripe (a
separate process) for the common flows, and against tests/fake_stripe.py for what localstripe
lacks or gets wrong (idempotency keys, Stripe's refund and capture rules, declines at
confirmation, outages)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from db.engine import Database
from domain.cards import Brand, CardInput
from domain.errors import ConflictError, ProviderIntegrityError, ProviderUnavailableError
from domain.money import Money
from domain.payments import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    Declined,
    Payment,
    PaymentStatus,
    Pending,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from paygate.providers import build_providers
from paygate.settings import Settings
from providers.stripe import API_VERSION, StripeProvider
from providers.stripe.wire import money_of, stripe_amount
from tests.providers.conftest import free_port, provider_at

# stripe 16.1.0's HTTPXClient posts bytes as `data=`, which httpx 0.28 deprecates: the SDK's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
MANUAL, AUTOMATIC = CaptureMethod.MANUAL, CaptureMethod.AUTOMATIC
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


def key() -> str:
    return f"pay-{uuid4()}-1"


async def authorize(stripe: StripeProvider, method: str = "pm_card_visa", amount: Money = usd(100_00),
                    capture: CaptureMethod = AUTOMATIC, idempotency_key: str | None = None):
    return await stripe.authorize(AuthorizeRequest(amount, idempotency_key or key(), capture,
                                                   payment_method=method, metadata={"order_id": "7"}))


# --- against localstripe --------------------------------------------------------------------------

async def test_an_automatic_capture_payment_succeeds_for_its_whole_amount_with_its_card(localstripe):
    answer = await authorize(localstripe)

    assert isinstance(answer, Succeeded) and answer.provider_ref.startswith("pi_")
    assert answer.amount == usd(100_00)
    assert (answer.card.brand, answer.card.last4) == (Brand.VISA, "4242")
    assert await localstripe.fetch(answer.provider_ref) == answer


async def test_a_manual_capture_is_authorized_first_then_captured_in_part(localstripe):
    authorized = await authorize(localstripe, capture=MANUAL)

    captured = await localstripe.capture(CaptureRequest(authorized.provider_ref, usd(60_00), key()))

    assert isinstance(authorized, Succeeded) and authorized.amount == usd(100_00)
    assert isinstance(captured, Succeeded) and captured.amount == usd(60_00)
    assert captured.provider_ref == authorized.provider_ref


async def test_a_void_releases_the_whole_authorization(localstripe):
    authorized = await authorize(localstripe, capture=MANUAL)

    voided = await localstripe.void(VoidRequest(authorized.provider_ref, key()))

    assert voided == Succeeded(authorized.provider_ref, usd(100_00), voided.card)
    assert isinstance(await localstripe.fetch(authorized.provider_ref), Declined)


async def test_a_card_refused_when_charged_is_a_decline_not_an_exception(localstripe):
    # localstripe declines at confirmation only this token's card (4000 0000 0000 0341); the
    # documented decline tokens only fail when attached to a customer there (see the fake below).
    answer = await authorize(localstripe, "pm_card_chargeCustomerFail")

    assert isinstance(answer, Declined)
    assert answer.decline_code == "card_declined" and answer.message == "Your card was declined."


async def test_full_and_partial_refunds_reach_stripe_and_fetch_reads_them_back(localstripe):
    paid = await authorize(localstripe)

    partial = await localstripe.refund(RefundRequest(paid.provider_ref, usd(30_00), key()))
    rest = await localstripe.refund(RefundRequest(paid.provider_ref, usd(70_00), key()))

    assert isinstance(partial, Succeeded) and partial.amount == usd(30_00)
    assert isinstance(rest, Succeeded) and rest.amount == usd(70_00)
    assert partial.provider_ref.startswith("re_") and partial.provider_ref != rest.provider_ref
    assert await localstripe.fetch(partial.provider_ref) == partial


async def test_a_typed_card_is_declined_before_anything_reaches_stripe(localstripe):
    typed = CardInput("4242 4242 4242 4242", 12, 2030, "123")

    answer = await localstripe.authorize(AuthorizeRequest(usd(10_00), key(), card=typed))

    assert answer == Declined(None, usd(10_00), "card_tokens_required", answer.message)


# --- against the fake: Stripe's rules that localstripe lacks ----------------------------------------

async def test_the_same_idempotency_key_twice_makes_one_payment_intent_and_one_answer(stripe, fake):
    same = key()

    first = await authorize(stripe, idempotency_key=same)
    second = await authorize(stripe, idempotency_key=same)

    assert first == second
    assert len(fake.intents) == 1


async def test_the_same_key_for_another_amount_is_a_conflict(stripe, fake):
    same = key()
    await authorize(stripe, idempotency_key=same)

    with pytest.raises(ConflictError):
        await authorize(stripe, amount=usd(99_00), idempotency_key=same)

    assert len(fake.intents) == 1


async def test_every_call_that_moves_money_sends_the_attempts_key_and_the_pinned_version(stripe, fake):
    keys = [key() for _ in range(3)]

    paid = await authorize(stripe, capture=MANUAL, idempotency_key=keys[0])
    await stripe.capture(CaptureRequest(paid.provider_ref, usd(100_00), keys[1]))
    await stripe.refund(RefundRequest(paid.provider_ref, usd(1_00), keys[2], reason="damaged"))

    assert [(m, k) for m, _path, k, _v in fake.requests] == [("POST", k) for k in keys]
    assert {v for *_rest, v in fake.requests} == {API_VERSION}


@pytest.mark.parametrize(("token", "decline_code", "message"), [
    ("pm_card_visa_chargeDeclined", "generic_decline", "Your card was declined."),
    ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds", "Your card has insufficient funds."),
    ("pm_card_visa_chargeDeclinedLostCard", "lost_card", "Your card was declined."),
])
async def test_stripes_decline_codes_come_back_as_declines_of_the_intent_stripe_made(
        stripe, fake, token, decline_code, message):
    answer = await authorize(stripe, token)

    assert isinstance(answer, Declined)
    assert (answer.decline_code, answer.message) == (decline_code, message)
    assert answer.provider_ref in fake.intents and answer.amount == usd(100_00)
    assert answer.card is not None and answer.card.last4 == PAYMENT_LAST4[token]
    assert await stripe.fetch(answer.provider_ref) == Declined(answer.provider_ref, usd(100_00), decline_code,
                                                               message, answer.card)


PAYMENT_LAST4 = {"pm_card_visa_chargeDeclined": "0002", "pm_card_visa_chargeDeclinedInsufficientFunds": "9995",
                 "pm_card_visa_chargeDeclinedLostCard": "9987"}


async def test_an_unknown_payment_method_is_declined_as_resource_missing(stripe):
    answer = await authorize(stripe, "pm_card_unheard_of")

    assert isinstance(answer, Declined) and answer.decline_code == "resource_missing"
    assert answer.provider_ref is None


@pytest.mark.parametrize("method", ["4876 5432 1098 7659", "4876-5432-1098-7659", "4876543210987659"])
async def test_stripes_message_quoting_a_card_number_comes_back_masked(stripe, method):
    # Stripe answers "No such PaymentMethod: '4876…'", which is stored as the decline message and
    # shown to the customer. (Use cases refuse such a token before sending it: this is the last line.)
    answer = await authorize(stripe, method)

    assert isinstance(answer, Declined) and answer.decline_code == "resource_missing"
    assert "No such PaymentMethod" in answer.message and "****" in answer.message
    assert "7659" not in answer.message


async def test_3d_secure_asks_the_customer_to_act_with_the_client_secret(stripe):
    answer = await authorize(stripe, "pm_card_authenticationRequired", capture=MANUAL)

    assert isinstance(answer, RequiresAction)
    assert answer.client_secret.startswith(answer.provider_ref + "_secret_")
    assert answer.next_action == "three_d_secure"


async def test_a_refund_above_what_is_left_is_refused_and_a_second_full_refund_too(stripe, fake):
    paid = await authorize(stripe)
    await stripe.refund(RefundRequest(paid.provider_ref, usd(60_00), key()))

    too_much = await stripe.refund(RefundRequest(paid.provider_ref, usd(40_01), key()))
    rest = await stripe.refund(RefundRequest(paid.provider_ref, usd(40_00), key()))
    again = await stripe.refund(RefundRequest(paid.provider_ref, usd(1), key()))

    assert isinstance(too_much, Declined) and too_much.provider_ref is None
    assert isinstance(rest, Succeeded)
    assert isinstance(again, Declined) and again.decline_code == "charge_already_refunded"
    assert sum(r["amount"] for r in fake.refunds.values()) == 100_00


async def test_capturing_more_than_authorized_or_twice_is_declined_with_stripes_code(stripe):
    authorized = await authorize(stripe, capture=MANUAL)

    too_much = await stripe.capture(CaptureRequest(authorized.provider_ref, usd(100_01), key()))
    captured = await stripe.capture(CaptureRequest(authorized.provider_ref, usd(100_00), key()))
    twice = await stripe.capture(CaptureRequest(authorized.provider_ref, usd(100_00), key()))

    assert isinstance(too_much, Declined) and too_much.decline_code == "amount_too_large"
    assert isinstance(captured, Succeeded)
    assert isinstance(twice, Declined) and twice.decline_code == "payment_intent_unexpected_state"


async def test_voiding_a_captured_payment_is_declined_and_refunding_an_uncaptured_one_too(stripe):
    paid = await authorize(stripe)
    held = await authorize(stripe, capture=MANUAL)

    void = await stripe.void(VoidRequest(paid.provider_ref, key()))
    refund = await stripe.refund(RefundRequest(held.provider_ref, usd(1_00), key()))

    assert isinstance(void, Declined) and void.decline_code == "payment_intent_unexpected_state"
    assert isinstance(refund, Declined) and refund.decline_code == "payment_intent_unexpected_state"


async def test_fetching_an_unknown_reference_is_declined_as_resource_missing(stripe):
    assert (await stripe.fetch("pi_nobody")).decline_code == "resource_missing"
    assert (await stripe.fetch("re_nobody")).decline_code == "resource_missing"


async def test_a_transient_500_is_retried_with_the_same_key_and_then_succeeds(stripe, fake, sleeps):
    fake.fail_next(2)
    same = key()

    answer = await authorize(stripe, idempotency_key=same)

    assert isinstance(answer, Succeeded)
    assert [k for _m, _p, k, _v in fake.requests] == [same, same, same]
    assert sleeps == [0.25, 0.5]
    assert len(fake.intents) == 1


async def test_an_outage_becomes_provider_unavailable_and_the_same_key_settles_it_later(stripe, fake, sleeps):
    fake.fail_next(3)
    same = key()

    with pytest.raises(ProviderUnavailableError):
        await authorize(stripe, idempotency_key=same)
    later = await authorize(stripe, idempotency_key=same)

    assert len(sleeps) == 2
    assert isinstance(later, Succeeded) and len(fake.intents) == 1


async def test_a_refused_connection_is_retried_then_becomes_provider_unavailable(sleeps):
    nobody = provider_at(f"http://127.0.0.1:{free_port()}", sleeps)

    with pytest.raises(ProviderUnavailableError):
        await authorize(nobody)

    assert sleeps == [0.25, 0.5]


async def test_a_rejected_api_key_is_unavailable_at_once_without_retries(fake_server, fake, sleeps):
    wrong = provider_at(fake_server[1], sleeps, api_key="rk_live_wrong")

    with pytest.raises(ProviderUnavailableError):
        await authorize(wrong)

    assert sleeps == [] and len(fake.requests) == 1


async def test_an_answer_for_another_amount_is_refused_as_a_provider_contradiction(stripe, fake):
    fake.tamper = lambda body: {**body, "amount": body["amount"] + 1} if "amount" in body else body

    with pytest.raises(ProviderIntegrityError):
        await authorize(stripe)


@pytest.mark.parametrize(("money", "wire"), [
    (Money.of(1500, "JPY"), (1500, "jpy")),  # zero-decimal: yen as they are
    (Money.of(29_99, "USD"), (2999, "usd")),
    (Money.of(1_250, "KWD"), (1250, "kwd")),  # three decimals: fils
    (Money.of(1500, "ISK"), (150000, "isk")),  # ISO says 0 decimals, Stripe's API keeps 2
])
def test_amounts_go_to_stripe_in_its_minor_units_and_come_back_the_same(money, wire):
    assert stripe_amount(money) == wire
    assert money_of(*wire) == money


def test_a_stripe_amount_our_units_cant_hold_is_a_conflict_not_a_rounding():
    with pytest.raises(ConflictError):
        money_of(150050, "isk")


async def test_yen_and_krona_reach_stripe_in_its_units_and_echo_back_exactly(stripe, fake):
    yen = await authorize(stripe, amount=Money.of(1500, "JPY"))
    krona = await authorize(stripe, amount=Money.of(1500, "ISK"))

    assert yen.amount == Money.of(1500, "JPY") and fake.intents[yen.provider_ref]["amount"] == 1500
    assert krona.amount == Money.of(1500, "ISK") and fake.intents[krona.provider_ref]["amount"] == 150000


# --- the adapter inside paygate -------------------------------------------------------------------

async def test_a_manual_authorization_then_capture_moves_the_payment_as_the_dummy_would(stripe):
    payment = Payment.new(order_id=1, buyer_id=1, provider="stripe", amount=usd(100_00), now=NOW,
                          capture_method=MANUAL)
    auth = payment.start_authorization(now=NOW)
    payment.finish_attempt(auth.seq, await stripe.authorize(payment.authorize_request(
        auth, payment_method="pm_card_visa")), now=NOW)
    authorized_status = payment.status

    capture = payment.start_capture(usd(60_00), now=NOW)
    payment.finish_attempt(capture.seq, await stripe.capture(payment.capture_request(capture)), now=NOW)
    refund = payment.start_refund(usd(10_00), now=NOW)
    payment.finish_attempt(refund.seq, await stripe.refund(payment.refund_request(refund)), now=NOW)

    assert authorized_status is PaymentStatus.REQUIRES_CAPTURE
    assert payment.status is PaymentStatus.SUCCEEDED
    assert (payment.amount_captured, payment.amount_refunded) == (usd(60_00), usd(10_00))
    assert payment.card is not None and payment.card.last4 == "4242"


def test_stripe_is_offered_only_when_its_key_is_set():
    db = Database.from_url("sqlite+aiosqlite://")  # the dummy gateway's records; never opened here
    without = build_providers(Settings(_env_file=None), db)
    offered = build_providers(Settings(_env_file=None, stripe_api_key="sk_test_x",
                                       stripe_api_base="http://127.0.0.1:9"), db)

    assert "stripe" not in without
    assert offered.require("stripe", Capability.REFUND).name == "stripe"


# --- Stripe's idempotency and refund lifecycle, as documented (tests/fake_stripe.py) ----------------

async def test_a_request_while_its_key_is_still_executing_is_unavailable_never_declined_nor_doubled(
        stripe, fake, sleeps):
    same = key()
    fake.hold_next()
    first = asyncio.create_task(authorize(stripe, idempotency_key=same))
    while same not in fake._executing:  # the first request is inside Stripe
        await asyncio.sleep(0.01)

    with pytest.raises(ProviderUnavailableError):  # 409 each try: the outcome is not known yet
        await authorize(stripe, idempotency_key=same)
    fake.release()
    answer = await first
    replayed = await authorize(stripe, idempotency_key=same)

    assert sleeps == [0.25, 0.5]
    assert isinstance(answer, Succeeded) and replayed == answer
    assert len(fake.intents) == 1


async def test_a_refusal_before_executing_is_not_replayed_for_its_key(stripe, fake):
    paid = await authorize(stripe)
    same = key()

    refused = await stripe.refund(RefundRequest(paid.provider_ref, usd(100_01), same))
    fake.intents[paid.provider_ref]["amount_received"] += 1  # what made it invalid is gone
    executed = await stripe.refund(RefundRequest(paid.provider_ref, usd(100_01), same))

    assert isinstance(refused, Declined)
    assert isinstance(executed, Succeeded) and len(fake.refunds) == 1


async def test_a_pending_refund_is_pending_until_stripe_ends_it_and_fetch_reads_each_state(stripe, fake):
    paid = await authorize(stripe)
    fake.refunds_pending()

    pending = await stripe.refund(RefundRequest(paid.provider_ref, usd(40_00), key()))
    more = await stripe.refund(RefundRequest(paid.provider_ref, usd(60_01), key()))
    assert isinstance(pending, Pending) and pending.provider_ref.startswith("re_")
    assert isinstance(more, Declined)  # the pending refund counts at Stripe too
    assert isinstance(await stripe.fetch(pending.provider_ref), Pending)

    fake.settle_refund(pending.provider_ref, "failed", "expired_or_canceled_card")
    failed = await stripe.fetch(pending.provider_ref)
    fake.refunds_at_once()
    whole = await stripe.refund(RefundRequest(paid.provider_ref, usd(100_00), key()))

    assert isinstance(failed, Declined) and failed.decline_code == "expired_or_canceled_card"
    assert isinstance(whole, Succeeded) and whole.amount == usd(100_00)
