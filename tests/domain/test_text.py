"""Free text: card numbers refused where clients write, masked where we only pass text along."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import domain.text
from domain.errors import ValidationError
from domain.payments.external import EventState, WebhookEvent
from domain.payments.provider import Declined
from domain.text import free_text, looks_like_card_number, optional_text, redact_card_numbers


@pytest.mark.parametrize("text", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "378282246310005",
    "card 5555555555554444 exp 12/30", "4242 4242 4242 4242 123", "6011111111111117",
    "ref:4000056655665556;", "3782-822463-10005", "4222222222222", "4222 2222 22222",
])
def test_text_holding_a_card_number_is_recognised(text):
    assert looks_like_card_number(text)


@pytest.mark.parametrize("text", [
    "4242424242424241",          # fails Luhn
    "424242424242",              # 12 digits
    "42424242424242424242",      # 20 digits, ungrouped: an id, not a card
    "550e8400-e29b-41d4-a716-446655440000", "2024-05-01 12:00:00+00:00", "ORD-000123", "29.99",
    "pi_dummy_e908019611985758c0af8c81", "ch_4242424242424242",  # a provider's own reference
])
def test_text_without_a_card_number_is_not_mistaken_for_one(text):
    assert not looks_like_card_number(text)


@pytest.mark.parametrize(("text", "masked"), [
    ("No such PaymentMethod: '4876 5432 1098 7659'", "No such PaymentMethod: '**** **** **** ****'"),
    ("pay 4111-1111-1111-1111 now", "pay ****-****-****-**** now"),
    ("4242424242424242 and 5555555555554444", "**************** and ****************"),
    ("card 4242 4242 4242 4242 123", "card **** **** **** **** 123"),  # the security code stays: not a card
    ("order ORD-000123 for 29.99", "order ORD-000123 for 29.99"),
])
def test_redaction_masks_the_digits_of_card_numbers_only(text, masked):
    assert redact_card_numbers(text) == masked
    assert not looks_like_card_number(redact_card_numbers(text))


@pytest.mark.parametrize("text", ["refund to 4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"])
def test_free_text_refuses_a_card_number_naming_the_field_without_quoting_it(text):
    with pytest.raises(ValidationError) as refused:
        free_text(text, "reason", max_length=500)

    assert refused.value.field == "reason" and "1111" not in refused.value.message


def test_free_text_is_stripped_bounded_and_required_unless_said_otherwise():
    assert free_text("  late  ", "reason", max_length=4) == "late"
    assert free_text("  ", "line2", max_length=10, required=False) == ""
    assert optional_text(None, "note", max_length=10) is None and optional_text(" ", "note", max_length=10) is None
    for bad in ("", "x" * 11, 42):
        with pytest.raises(ValidationError):
            free_text(bad, "reason", max_length=10)


# --- what providers send back is masked where it is kept, never refused -----------------------------

def test_a_providers_decline_message_is_kept_with_card_numbers_masked():
    declined = Declined(None, None, "resource_missing", "No such PaymentMethod: '4876-5432-1098-7659'")

    assert declined.message == "No such PaymentMethod: '****-****-****-****'"


def test_a_webhook_events_detail_for_operators_is_kept_with_card_numbers_masked():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    event = WebhookEvent(provider="online", event_id="evt_1", event_type="payment.failed", object_ref=None,
                         received_at=now)

    done = event.finished(EventState.IGNORED, "gateway said: card 4111 1111 1111 1111 refused", now)

    assert done.detail == "gateway said: card **** **** **** **** refused"


# Digits, the two separators, doubled separators and letters around them: the shapes the
# shortcut in `_card_spans` must never misjudge.
_TEXTS = st.text(alphabet=st.sampled_from("0123456789012345678942 --_a."), max_size=60)


@settings(max_examples=400, deadline=None)
@given(text=_TEXTS, number=st.sampled_from(["4222222222222", "4222-2222-22222", "4242424242424242", "4242 4242 4242 4242", "378282246310005",
                                             "3782-822463-10005", "6011111111111117", ""]))
def test_the_quick_look_finds_every_card_number_the_full_walk_finds(text, number):
    """Text without 13 digits in a row (single separators allowed) can't hold a card number: the
    shortcut skips only such text, so it changes no answer."""
    sample = f"{text} {number} {text[::-1]}"
    quick = (looks_like_card_number(sample), redact_card_numbers(sample))
    quick_look, domain.text._ENOUGH_DIGITS = domain.text._ENOUGH_DIGITS, re.compile("")  # the full walk always
    try:
        full = (looks_like_card_number(sample), redact_card_numbers(sample))
    finally:
        domain.text._ENOUGH_DIGITS = quick_look
    assert quick == full
