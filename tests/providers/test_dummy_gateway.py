"""The dummy gateway: Stripe's test cards, idempotent replays, limits, 3-D Secure, no card numbers kept."""
from datetime import UTC, date, datetime

import pytest

from domain.cards import Brand, CardInput
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.money import Money
from domain.payments import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    Declined,
    Payment,
    PaymentStatus,
    Providers,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from providers.dummy import DummyGateway

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MANUAL, AUTOMATIC = CaptureMethod.MANUAL, CaptureMethod.AUTOMATIC


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


def card(number: str, month: int | str = 12, year: int | str = 2030, cvc: str = "123") -> CardInput:
    return CardInput(number, month, year, cvc)


@pytest.fixture
def gateway() -> DummyGateway:
    return DummyGateway(today=lambda: TODAY)


_keys = iter(range(1, 1_000_000))


def key() -> str:
    return f"key-{next(_keys)}"


async def authorize(gateway: DummyGateway, pay_with: CardInput | str, amount: Money = usd(100_00),
                    capture: CaptureMethod = AUTOMATIC, idempotency_key: str | None = None):
    by_card = isinstance(pay_with, CardInput)
    return await gateway.authorize(AuthorizeRequest(
        amount, idempotency_key or key(), capture, card=pay_with if by_card else None,
        payment_method=None if by_card else pay_with))


@pytest.mark.parametrize(("number", "decline_code"), [
    ("4242 4242 4242 4242", None),
    ("4000 0000 0000 0002", "card_declined"),
    ("4000 0000 0000 9995", "insufficient_funds"),
    ("4000 0000 0000 9987", "lost_card"),
    ("4000 0000 0000 0069", "expired_card"),
    ("4000 0000 0000 0119", "processing_error"),
    ("4111 1111 1111 1111", None),  # any other valid number
    ("5555 5555 5555 4444", None),
])
async def test_each_test_card_gets_the_answer_stripe_documents(gateway, number, decline_code):
    answer = await authorize(gateway, card(number))

    if decline_code is None:
        assert isinstance(answer, Succeeded) and answer.amount == usd(100_00)
    else:
        assert isinstance(answer, Declined) and answer.decline_code == decline_code and answer.message
    assert answer.card is not None and answer.card.last4 == number[-4:]
    assert await gateway.fetch(answer.provider_ref) == answer


@pytest.mark.parametrize(("typed", "decline_code"), [
    (card("4242 4242 4242 4241"), "incorrect_number"),
    (card("4242 4242 4242 4242", 5, 2026), "expired_card"),
    (card("4242 4242 4242 4242", 13, 2030), "expired_card"),
    (card("4242 4242 4242 4242", cvc="12"), "incorrect_cvc"),
    (card("3782 822463 10005", cvc="123"), "incorrect_cvc"),
])
async def test_a_malformed_card_is_declined_with_the_code_customers_know(gateway, typed, decline_code):
    answer = await authorize(gateway, typed)

    assert isinstance(answer, Declined)
    assert answer.decline_code == decline_code
    assert answer.card is None


@pytest.mark.parametrize(("token", "outcome", "detail"), [
    ("pm_card_visa", Succeeded, Brand.VISA),
    ("pm_card_mastercard", Succeeded, Brand.MASTERCARD),
    ("pm_card_amex", Succeeded, Brand.AMEX),
    ("pm_card_chargeDeclined", Declined, "card_declined"),
    ("pm_card_chargeDeclinedInsufficientFunds", Declined, "insufficient_funds"),
    ("pm_card_authenticationRequired", RequiresAction, Brand.VISA),
    ("pm_card_unheard_of", Declined, "resource_missing"),
])
async def test_saved_payment_method_tokens_stand_for_test_cards(gateway, token, outcome, detail):
    answer = await authorize(gateway, token)

    assert isinstance(answer, outcome)
    assert (answer.decline_code if isinstance(answer, Declined) else answer.card.brand) == detail


async def test_the_3ds_card_waits_for_the_customer_then_succeeds_once_confirmed(gateway):
    challenge = await authorize(gateway, card("4000 0025 0000 3155"), capture=MANUAL)
    still_waiting = await gateway.fetch(challenge.provider_ref)

    confirmed = await gateway.confirm(challenge.provider_ref)
    confirmed_again = await gateway.confirm(challenge.provider_ref)

    assert isinstance(challenge, RequiresAction)
    assert challenge.next_action == "three_d_secure"
    assert challenge.client_secret.startswith(challenge.provider_ref)
    assert still_waiting == challenge
    assert confirmed == confirmed_again == Succeeded(challenge.provider_ref, usd(100_00), challenge.card)
    assert await gateway.fetch(challenge.provider_ref) == confirmed


async def test_a_failed_3ds_challenge_is_a_decline(gateway):
    challenge = await authorize(gateway, card("4000 0025 0000 3155"))

    answer = await gateway.confirm(challenge.provider_ref, authenticated=False)

    assert isinstance(answer, Declined)
    assert answer.decline_code == "payment_intent_authentication_failure"


async def test_a_retried_request_with_the_same_key_replays_the_first_answer_and_charges_once(gateway):
    first = await authorize(gateway, card("4242424242424242"), idempotency_key="k-1")

    again = await authorize(gateway, card("4242424242424242"), idempotency_key="k-1")
    refund_1 = await gateway.refund(RefundRequest(first.provider_ref, usd(30_00), "r-1"))
    refund_2 = await gateway.refund(RefundRequest(first.provider_ref, usd(30_00), "r-1"))
    rest = await gateway.refund(RefundRequest(first.provider_ref, usd(70_00), "r-2"))

    assert again == first
    assert repr(gateway) == "DummyGateway(1 payments, 2 refunds)"
    assert refund_1 == refund_2
    assert isinstance(rest, Succeeded)  # 30 + 70: the replayed refund was not refunded twice


async def test_a_declined_request_is_replayed_too(gateway):
    first = await authorize(gateway, card("4000000000000002"), idempotency_key="k-2")

    again = await authorize(gateway, card("4000000000000002"), idempotency_key="k-2")

    assert again == first


async def test_the_same_key_for_a_different_request_is_a_conflict(gateway):
    await authorize(gateway, card("4242424242424242"), idempotency_key="k-3")

    with pytest.raises(ConflictError):
        await authorize(gateway, card("4242424242424242"), usd(5_00), idempotency_key="k-3")


async def test_refunds_cannot_exceed_what_was_captured(gateway):
    paid = await authorize(gateway, card("4242424242424242"))
    await gateway.refund(RefundRequest(paid.provider_ref, usd(60_00), key()))

    too_much = await gateway.refund(RefundRequest(paid.provider_ref, usd(40_01), key()))
    exact = await gateway.refund(RefundRequest(paid.provider_ref, usd(40_00), key()))
    after_all = await gateway.refund(RefundRequest(paid.provider_ref, usd(1), key()))

    assert isinstance(too_much, Declined) and too_much.decline_code == "amount_too_large"
    assert isinstance(exact, Succeeded) and exact.provider_ref.startswith("re_")
    assert await gateway.fetch(exact.provider_ref) == exact
    assert isinstance(after_all, Declined) and after_all.decline_code == "charge_already_refunded"


async def test_a_partial_capture_releases_the_rest_and_limits_refunds_to_it(gateway):
    held = await authorize(gateway, card("4242424242424242"), capture=MANUAL)
    not_yet = await gateway.refund(RefundRequest(held.provider_ref, usd(1), key()))

    captured = await gateway.capture(CaptureRequest(held.provider_ref, usd(60_00), key()))
    second = await gateway.capture(CaptureRequest(held.provider_ref, usd(40_00), key()))
    over = await gateway.refund(RefundRequest(held.provider_ref, usd(60_01), key()))

    assert not_yet.decline_code == "payment_intent_unexpected_state"
    assert captured == Succeeded(held.provider_ref, usd(60_00), held.card)
    assert second.decline_code == "payment_intent_unexpected_state"
    assert over.decline_code == "amount_too_large"


async def test_capturing_more_than_authorized_is_declined(gateway):
    held = await authorize(gateway, card("4242424242424242"), capture=MANUAL)

    answer = await gateway.capture(CaptureRequest(held.provider_ref, usd(100_01), key()))

    assert answer.decline_code == "amount_too_large"


async def test_a_void_works_before_capture_only(gateway):
    held = await authorize(gateway, card("4242424242424242"), capture=MANUAL)
    paid = await authorize(gateway, card("4242424242424242"))

    voided = await gateway.void(VoidRequest(held.provider_ref, key()))
    capture_after_void = await gateway.capture(CaptureRequest(held.provider_ref, usd(1), key()))
    void_after_capture = await gateway.void(VoidRequest(paid.provider_ref, key()))

    assert voided == Succeeded(held.provider_ref, usd(100_00), held.card)
    assert (await gateway.fetch(held.provider_ref)).decline_code == "canceled"
    assert capture_after_void.decline_code == "payment_intent_unexpected_state"
    assert void_after_capture.decline_code == "payment_intent_unexpected_state"


async def test_an_unknown_reference_is_resource_missing_since_nothing_is_held_under_it(gateway):
    fetched = await gateway.fetch("pi_from_another_process")
    captured = await gateway.capture(CaptureRequest("pi_from_another_process", usd(1), key()))

    assert fetched == Declined("pi_from_another_process", None, "resource_missing", fetched.message)
    assert captured.decline_code == "resource_missing"


async def test_no_full_card_number_shows_in_anything_the_gateway_returns_or_keeps(gateway):
    numbers = ["4242424242424242", "4000000000000002", "4000002500003155", "4242424242424241"]
    answers = []

    for number in numbers:
        answers.append(await authorize(gateway, card(number), capture=MANUAL))
    answers.append(await gateway.confirm(answers[2].provider_ref))
    answers.append(await gateway.capture(CaptureRequest(answers[0].provider_ref, usd(10_00), key())))
    answers.append(await gateway.refund(RefundRequest(answers[0].provider_ref, usd(5_00), key())))
    everything = [repr(a) for a in answers] + [str(a) for a in answers] + [repr(gateway), repr(vars(gateway))]

    for number in numbers:
        assert not any(number in text for text in everything)


async def test_a_payment_goes_through_the_gateway_in_two_phases(gateway):
    payment = Payment.new(order_id=1, buyer_id=2, provider="dummy", amount=usd(50_00), now=NOW,
                          capture_method=MANUAL)
    typed = card("4000 0025 0000 3155")

    auth = payment.start_authorization(now=NOW)
    answer = await gateway.authorize(payment.authorize_request(auth, card=typed))
    payment.finish_attempt(auth.seq, answer, now=NOW)
    waiting = payment.status
    await gateway.confirm(payment.provider_ref)
    payment.finish_attempt(auth.seq, await gateway.fetch(payment.provider_ref), now=NOW)
    capture = payment.start_capture(usd(30_00), now=NOW)
    payment.finish_attempt(capture.seq, await gateway.capture(payment.capture_request(capture)), now=NOW)
    refund = payment.start_refund(now=NOW)
    payment.finish_attempt(refund.seq, await gateway.refund(payment.refund_request(refund)), now=NOW)

    assert waiting is PaymentStatus.REQUIRES_ACTION
    assert payment.status is PaymentStatus.SUCCEEDED and payment.display_status == "refunded"
    assert (payment.amount_captured, payment.amount_refunded) == (usd(30_00), usd(30_00))
    assert payment.card is not None and payment.card.last4 == "3155"


def test_the_registry_finds_providers_by_name_and_refuses_unknown_names():
    dummy = DummyGateway()
    providers = Providers([dummy])

    assert providers["dummy"] is dummy and "dummy" in providers and "stripe" not in providers
    assert providers.supporting(Capability.REFUND) == ("dummy",)
    assert providers.require("dummy", Capability.VOID) is dummy
    with pytest.raises(NotFoundError):
        providers["stripe"]
    with pytest.raises(ValidationError):
        providers.require("dummy", Capability.SUBSCRIPTIONS)
    with pytest.raises(ValueError):
        Providers([dummy, DummyGateway()])


def test_an_authorize_request_takes_a_card_or_a_token_but_not_both():
    with pytest.raises(ValidationError):
        AuthorizeRequest(usd(1_00), "k", card=card("4242424242424242"), payment_method="pm_card_visa")
    with pytest.raises(ValidationError):
        AuthorizeRequest(usd(1_00), "k")
