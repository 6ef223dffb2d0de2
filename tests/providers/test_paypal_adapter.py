"""The PayPal adapter over HTTP against tests/fake_paypal.py: the token, orders opened, approved by
the buyer and completed, authorizations captured and voided, refunds, PayPal's refusals as
declines, the same PayPal-Request-Id on retries, and the amounts PayPal takes."""
from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import ProviderUnavailableError
from domain.money import Money
from domain.payments.provider import (
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    Declined,
    OpenRequest,
    Pending,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from providers.paypal.wire import PayPalAmountError, money_of, paypal_amount

USD = Money.of(29_99, "USD")


def opening(amount: Money = USD, *, manual: bool = False, kind: CheckoutKind = CheckoutKind.ELEMENTS,
            key: str | None = None) -> OpenRequest:
    return OpenRequest(amount=amount, idempotency_key=key or f"{uuid4()}-1", kind=kind,
                       capture_method=CaptureMethod.MANUAL if manual else CaptureMethod.AUTOMATIC,
                       metadata={"payment_uuid": "p-1", "description": "Course enrollment"},
                       return_url="https://shop.example/back" if kind is CheckoutKind.HOSTED else None)


async def test_an_order_is_opened_for_the_buyer_to_approve_and_captured_once_approved(adapter, paypal):
    opened = await adapter.open(opening())

    assert isinstance(opened, RequiresAction)
    assert opened.redirect_url == f"https://www.sandbox.paypal.com/checkoutnow?token={opened.provider_ref}"
    assert opened.client_secret == opened.provider_ref
    assert isinstance(await adapter.fetch(opened.provider_ref), RequiresAction)  # not approved yet

    paypal.approve(opened.provider_ref)
    captured = await adapter.fetch(opened.provider_ref)

    assert captured == Succeeded(opened.provider_ref, USD)
    assert paypal.orders[opened.provider_ref]["status"] == "COMPLETED"
    assert await adapter.fetch(opened.provider_ref) == captured  # asked again: no second capture
    assert len(paypal.captures) == 1


async def test_a_hosted_page_sends_the_return_url_and_answers_the_payer_action_link(adapter, paypal):
    opened = await adapter.open(opening(kind=CheckoutKind.HOSTED))

    assert isinstance(opened, RequiresAction) and opened.redirect_url
    assert paypal.orders[opened.provider_ref]["status"] == "PAYER_ACTION_REQUIRED"


async def test_an_authorization_is_captured_in_part_and_the_rest_released(adapter, paypal):
    opened = await adapter.open(opening(manual=True))
    paypal.approve(opened.provider_ref)
    assert await adapter.fetch(opened.provider_ref) == Succeeded(opened.provider_ref, USD)

    part = Money.of(20_00, "USD")
    captured = await adapter.capture(CaptureRequest(opened.provider_ref, part, "cap-key-1"))

    assert captured == Succeeded(opened.provider_ref, part)
    (auth,) = paypal.authorizations.values()
    assert auth["status"] == "CAPTURED"
    assert [c["amount"]["value"] for c in paypal.captures.values()] == ["20.00"]


async def test_an_authorization_is_voided_and_a_void_again_still_succeeds(adapter, paypal):
    opened = await adapter.open(opening(manual=True))
    paypal.approve(opened.provider_ref)
    await adapter.fetch(opened.provider_ref)

    assert await adapter.void(VoidRequest(opened.provider_ref, "void-1")) == Succeeded(opened.provider_ref, USD)
    assert await adapter.void(VoidRequest(opened.provider_ref, "void-2")) == Succeeded(opened.provider_ref, USD)
    assert next(iter(paypal.authorizations.values()))["status"] == "VOIDED"


async def test_refunds_in_part_then_above_what_is_left_is_declined_with_paypals_issue(adapter, paypal):
    opened = await adapter.open(opening())
    paypal.approve(opened.provider_ref)
    await adapter.fetch(opened.provider_ref)

    first = await adapter.refund(RefundRequest(opened.provider_ref, Money.of(10_00, "USD"), "r-1", "late"))
    too_much = await adapter.refund(RefundRequest(opened.provider_ref, Money.of(20_00, "USD"), "r-2"))

    assert isinstance(first, Succeeded) and first.amount == Money.of(10_00, "USD")
    assert paypal.refunds[first.provider_ref]["note_to_payer"] == "late"
    assert isinstance(too_much, Declined) and too_much.decline_code == "refund_amount_exceeded"


async def test_a_pending_refund_is_pending_until_paypal_completes_it(adapter, paypal):
    opened = await adapter.open(opening())
    paypal.approve(opened.provider_ref)
    await adapter.fetch(opened.provider_ref)
    paypal.refunds_pending()

    pending = await adapter.refund(RefundRequest(opened.provider_ref, USD, "r-1"))
    assert isinstance(pending, Pending)
    paypal.settle_refund(pending.provider_ref, "COMPLETED")

    assert await adapter.fetch(pending.provider_ref) == Succeeded(pending.provider_ref, USD)


async def test_a_declined_funding_source_is_a_decline_with_paypals_issue(adapter, paypal):
    opened = await adapter.open(opening())
    paypal.approve(opened.provider_ref, funding="declined")

    outcome = await adapter.fetch(opened.provider_ref)

    assert isinstance(outcome, Declined) and outcome.decline_code == "instrument_declined"
    assert outcome.provider_ref == opened.provider_ref


async def test_a_pending_capture_reads_as_pending(adapter, paypal):
    opened = await adapter.open(opening())
    paypal.approve(opened.provider_ref, funding="pending")

    assert await adapter.fetch(opened.provider_ref) == Pending(opened.provider_ref, USD)


async def test_capturing_an_order_not_approved_is_declined(adapter, paypal):
    opened = await adapter.open(opening(manual=True))

    outcome = await adapter.capture(CaptureRequest(opened.provider_ref, USD, "cap-1"))

    assert isinstance(outcome, Declined) and outcome.decline_code == "not_authorized"


async def test_an_answer_lost_is_retried_with_the_same_request_id_and_replayed(adapter, paypal):
    key = f"{uuid4()}-1"
    paypal.lose_next(1)  # PayPal creates the order, the answer is lost: the retry replays it

    opened = await adapter.open(opening(key=key))

    assert len(paypal.orders) == 1
    assert opened.provider_ref in paypal.orders
    ids = [rid for method, path, rid in paypal.calls if path == "/v2/checkout/orders"]
    assert ids == [key, key]


async def test_paypal_down_leaves_the_outcome_unknown(adapter, paypal):
    paypal.fail_next(3)

    with pytest.raises(ProviderUnavailableError):
        await adapter.open(opening())
    assert paypal.orders == {}


async def test_an_expired_token_is_refreshed_once(adapter, paypal):
    await adapter.open(opening())
    paypal.expire_tokens()

    await adapter.open(opening())

    assert paypal.token_requests == 2
    assert len(paypal.orders) == 2


async def test_the_token_is_cached_between_calls(adapter, paypal):
    for _ in range(3):
        await adapter.open(opening())

    assert paypal.token_requests == 1


async def test_wrong_credentials_leave_the_outcome_unknown(fake_paypal_server, paypal):
    from providers.paypal import PayPalClient, PayPalProvider
    provider = PayPalProvider(PayPalClient("someone", "else", api_base=fake_paypal_server[1]))

    with pytest.raises(ProviderUnavailableError):
        await provider.open(opening())
    await provider.close()


async def test_yen_forint_and_taiwan_dollars_go_without_decimals(adapter, paypal):
    for amount, value in ((Money.of(1500, "JPY"), "1500"), (Money.of(1500_00, "HUF"), "1500"),
                          (Money.of(300_00, "TWD"), "300")):
        opened = await adapter.open(opening(amount))
        assert isinstance(opened, RequiresAction) and opened.amount == amount
        assert paypal.orders[opened.provider_ref]["purchase_units"][0]["amount"]["value"] == value


async def test_a_forint_fraction_or_a_currency_paypal_lacks_is_declined_before_any_call(adapter, paypal):
    fraction = await adapter.open(opening(Money.of(1500_50, "HUF")))
    kuwaiti = await adapter.open(opening(Money.of(1_000, "KWD")))

    assert isinstance(fraction, Declined) and fraction.decline_code == "currency_not_supported"
    assert isinstance(kuwaiti, Declined) and kuwaiti.decline_code == "currency_not_supported"
    assert paypal.calls == []


@pytest.mark.parametrize(("money", "wire"), [
    (Money.of(2999, "USD"), {"currency_code": "USD", "value": "29.99"}),
    (Money.of(1500, "JPY"), {"currency_code": "JPY", "value": "1500"}),
    (Money.of(100_00, "HUF"), {"currency_code": "HUF", "value": "100"}),
])
def test_amounts_go_both_ways_exactly(money, wire):
    assert paypal_amount(money) == wire
    assert money_of(wire) == money


def test_a_fraction_of_a_currency_paypal_takes_whole_is_refused():
    with pytest.raises(PayPalAmountError):
        paypal_amount(Money.of(1, "TWD"))


async def test_a_timeout_is_retried_with_the_same_request_id_and_refunds_once(fake_paypal_server, paypal):
    from providers.paypal import PayPalProvider
    from tests.paypal_fixtures import paypal_client

    provider = PayPalProvider(paypal_client(fake_paypal_server[1], timeout_s=0.3))
    opened = await provider.open(opening())
    paypal.approve(opened.provider_ref)
    await provider.fetch(opened.provider_ref)
    paypal.slow_next(1, 1.0, "/refund")  # PayPal refunds while we stop waiting for its answer

    refunded = await provider.refund(RefundRequest(opened.provider_ref, USD, "refund-key-1"))
    await provider.close()

    assert isinstance(refunded, Succeeded) and len(paypal.refunds) == 1
    ids = [rid for _, path, rid in paypal.calls if path.endswith("/refund")]
    assert ids == ["refund-key-1", "refund-key-1"]


async def test_a_refund_sent_again_with_its_key_is_paypals_first_answer(adapter, paypal):
    opened = await adapter.open(opening())
    paypal.approve(opened.provider_ref)
    await adapter.fetch(opened.provider_ref)

    first = await adapter.refund(RefundRequest(opened.provider_ref, Money.of(5_00, "USD"), "same-key"))
    again = await adapter.refund(RefundRequest(opened.provider_ref, Money.of(5_00, "USD"), "same-key"))

    assert first == again and len(paypal.refunds) == 1


async def test_the_token_is_renewed_a_minute_before_paypal_says_it_expires(fake_paypal_server, paypal):
    from providers.paypal import PayPalProvider
    from tests.paypal_fixtures import paypal_client

    now = [0.0]
    provider = PayPalProvider(paypal_client(fake_paypal_server[1], clock=lambda: now[0]))
    await provider.open(opening())
    now[0] = 32400 - 61  # the fake's tokens last 32400 s
    await provider.open(opening())
    now[0] = 32400 - 59
    await provider.open(opening())
    await provider.close()

    assert paypal.token_requests == 2


@pytest.mark.parametrize("wire", [
    {"currency_code": "HUF", "value": "10.50"}, {"currency_code": "USD", "value": "1.234"},
    {"currency_code": "XXX", "value": "1"}, {"currency_code": "USD", "value": 1}, {"value": "1.00"}, "1.00",
])
def test_an_amount_paypal_answers_that_we_cant_read_exactly_is_an_integrity_error(wire):
    from domain.errors import ProviderIntegrityError

    with pytest.raises(ProviderIntegrityError):
        money_of(wire)
