"""The Razorpay adapter against tests/fake_razorpay.py over HTTP: manual capture (whole only),
replays, and refusals read from Razorpay's error bodies."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import ProviderUnavailableError, ValidationError
from domain.money import Money
from domain.payments.provider import (
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    CompleteRequest,
    Declined,
    FindRequest,
    OpenRequest,
    Pending,
    RefundRequest,
    RequiresAction,
    Succeeded,
)
from providers.razorpay import RazorpayProvider
from providers.retry import RetryPolicy
from tests.fake_razorpay import KEY_ID, KEY_SECRET

INR = "INR"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def razorpay(fakes) -> RazorpayProvider:
    fakes.razorpay.reset()
    return RazorpayProvider(KEY_ID, KEY_SECRET, api_base=fakes.razorpay_url, retry=RetryPolicy(sleep=_no_sleep))


def opening(key: str, minor: int = 50_000, capture: CaptureMethod = CaptureMethod.MANUAL) -> OpenRequest:
    return OpenRequest(amount=Money.of(minor, INR), idempotency_key=key, kind=CheckoutKind.ELEMENTS,
                       capture_method=capture, metadata={"payment_uuid": "p-1"})


async def test_a_manual_payment_is_authorized_then_captured_whole_and_a_part_is_refused(razorpay, fakes):
    opened = await razorpay.open(opening("aaaaaaaa-1"))
    answer = fakes.razorpay.pay(opened.provider_ref)
    authorized = await razorpay.complete(CompleteRequest(opened.provider_ref, Money.of(50_000, INR), answer))

    part = await razorpay.capture(CaptureRequest(opened.provider_ref, Money.of(10_000, INR), "aaaaaaaa-2"))
    whole = await razorpay.capture(CaptureRequest(opened.provider_ref, Money.of(50_000, INR), "aaaaaaaa-3"))
    again = await razorpay.capture(CaptureRequest(opened.provider_ref, Money.of(50_000, INR), "aaaaaaaa-3"))

    assert isinstance(opened, RequiresAction) and opened.client_secret == opened.provider_ref
    assert authorized == Succeeded(opened.provider_ref, Money.of(50_000, INR))
    assert isinstance(part, Declined) and part.decline_code == "partial_capture_unsupported"
    assert whole == again == Succeeded(opened.provider_ref, Money.of(50_000, INR))
    assert fakes.razorpay.payments[answer["razorpay_payment_id"]]["status"] == "captured"


async def test_an_automatic_payment_authorized_but_not_yet_captured_is_pending(razorpay, fakes):
    opened = await razorpay.open(opening("bbbbbbbb-1", capture=CaptureMethod.AUTOMATIC))
    fakes.razorpay.orders[opened.provider_ref]["_capture"] = False  # Razorpay hasn't captured it yet
    answer = fakes.razorpay.pay(opened.provider_ref)

    assert isinstance(await razorpay.fetch(opened.provider_ref), Pending)

    fakes.razorpay.capture_by_razorpay(answer["razorpay_payment_id"])

    assert await razorpay.fetch(opened.provider_ref) == Succeeded(opened.provider_ref, Money.of(50_000, INR))


async def test_razorpays_refusals_are_declines_with_its_reason_and_outages_are_unknown(razorpay, fakes):
    refused = await razorpay.open(opening("cccccccc-1", minor=50))  # below Razorpay's minimum
    opened = await razorpay.open(opening("cccccccc-2", capture=CaptureMethod.AUTOMATIC))
    fakes.razorpay.pay(opened.provider_ref)
    too_much = await razorpay.refund(RefundRequest(opened.provider_ref, Money.of(60_000, INR), "cccccccc-3"))
    fakes.razorpay.fail_next(3)

    assert isinstance(refused, Declined) and refused.decline_code == "input_validation_failed"
    assert "atleast" in refused.message
    assert isinstance(too_much, Declined) and too_much.decline_code == "input_validation_failed"
    with pytest.raises(ProviderUnavailableError):
        await razorpay.fetch(opened.provider_ref)


async def test_a_refund_sent_again_with_its_key_is_razorpays_first_refund(razorpay, fakes):
    opened = await razorpay.open(opening("dddddddd-1", capture=CaptureMethod.AUTOMATIC))
    fakes.razorpay.pay(opened.provider_ref)
    request = RefundRequest(opened.provider_ref, Money.of(20_000, INR), "dddddddd-2", reason="dent")

    first, second = await razorpay.refund(request), await razorpay.refund(request)

    assert first == second and isinstance(first, Succeeded) and len(fakes.razorpay.refunds) == 1
    assert await razorpay.fetch(first.provider_ref) == first


async def test_an_opening_is_found_by_its_receipt_or_told_never_made(razorpay, fakes):
    opened = await razorpay.open(opening("eeeeeeee-1"))
    long_ago = datetime.now(UTC) - timedelta(hours=1)

    found = await razorpay.find_authorization(FindRequest("p-1", "eeeeeeee-1", Money.of(50_000, INR), long_ago))
    recent = await razorpay.find_authorization(FindRequest("p-2", "ffffffff-1", Money.of(50_000, INR),
                                                           datetime.now(UTC)))
    never = await razorpay.find_authorization(FindRequest("p-2", "ffffffff-1", Money.of(50_000, INR), long_ago))

    assert found == opened and recent is None
    assert isinstance(never, Declined) and never.decline_code == "not_opened"


async def test_a_checkout_answer_for_another_order_is_refused(razorpay, fakes):
    mine = await razorpay.open(opening("gggggggg-1"))
    theirs = await razorpay.open(opening("gggggggg-2"))
    their_answer = fakes.razorpay.pay(theirs.provider_ref)

    with pytest.raises(ValidationError):
        await razorpay.complete(CompleteRequest(mine.provider_ref, Money.of(50_000, INR), their_answer))
    with pytest.raises(ValidationError):
        await razorpay.complete(CompleteRequest(mine.provider_ref, Money.of(50_000, INR),
                                                their_answer | {"razorpay_order_id": mine.provider_ref}))
