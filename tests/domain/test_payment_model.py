"""The payment aggregate: state x action, outcomes, refunds in flight, idempotent settling."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cards import Brand, CardSummary
from domain.errors import (ConflictError, CurrencyMismatchError, InvalidAmountError, InvalidStateError,
                           ProviderIntegrityError,
                           NotFoundError, RefundExceedsCapturedError)
from domain.money import Money
from domain.payments import (TRANSITIONS, AttemptKind, AttemptStatus, CaptureMethod, Declined, DisplayStatus,
                             Payment, PaymentStatus, Pending, RefundStatus, RequiresAction, Succeeded)

S = PaymentStatus
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
REF = "pi_test_1"
VISA = CardSummary(Brand.VISA, "4242", 12, 2030)


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


def new_payment(amount: Money = usd(100_00), capture: CaptureMethod = CaptureMethod.MANUAL) -> Payment:
    return Payment.new(order_id=7, buyer_id=3, provider="dummy", amount=amount, now=NOW,
                       capture_method=capture, uuid=UUID("0123abcd-4567-4890-abcd-ef0123456789"))


def authorized(outcome_kind: str, capture: CaptureMethod = CaptureMethod.MANUAL) -> Payment:
    payment = new_payment(capture=capture)
    attempt = payment.start_authorization(now=NOW)
    payment.finish_attempt(attempt.seq, outcome(outcome_kind, payment.amount), now=NOW)
    return payment


def outcome(kind: str, amount: Money, ref: str = REF):
    return {
        "succeeded": lambda: Succeeded(ref, amount, VISA),
        "pending": lambda: Pending(ref, amount),
        "requires_action": lambda: RequiresAction(ref, amount, "secret_1", "three_d_secure"),
        "declined": lambda: Declined(ref, amount, "card_declined", "Your card was declined."),
    }[kind]()


def captured(amount: Money = usd(100_00)) -> Payment:
    payment = authorized("succeeded")
    attempt = payment.start_capture(amount, now=NOW)
    payment.finish_attempt(attempt.seq, Succeeded(REF, amount), now=NOW)
    return payment


def payment_in(status: PaymentStatus) -> Payment:
    if status is S.REQUIRES_PAYMENT_METHOD:
        return new_payment()
    if status is S.CANCELED:
        payment = new_payment()
        payment.cancel(now=NOW)
        return payment
    if status is S.SUCCEEDED:
        return captured()
    kind = {S.REQUIRES_ACTION: "requires_action", S.PROCESSING: "pending", S.REQUIRES_CAPTURE: "succeeded",
            S.FAILED: "declined"}[status]
    return authorized(kind)


def snapshot(payment: Payment) -> Payment:
    return replace(payment, attempts=list(payment.attempts))


ACTIONS = {
    "authorize": lambda p: p.start_authorization(now=LATER),
    "capture": lambda p: p.start_capture(now=LATER),
    "void": lambda p: p.start_void(now=LATER),
    "refund": lambda p: p.start_refund(usd(1_00), now=LATER),
    "cancel": lambda p: p.cancel(now=LATER),
}
OK, NO = "ok", InvalidStateError
MATRIX = {  # status: authorize, capture, void, refund, cancel
    S.REQUIRES_PAYMENT_METHOD: (OK, NO, NO, NO, OK),
    S.REQUIRES_ACTION: (NO, NO, OK, NO, NO),
    S.PROCESSING: (NO, NO, NO, NO, NO),
    S.REQUIRES_CAPTURE: (NO, OK, OK, NO, NO),
    S.SUCCEEDED: (NO, NO, NO, OK, NO),
    S.CANCELED: (NO, NO, NO, NO, NO),
    S.FAILED: (NO, NO, NO, NO, NO),
}


@pytest.mark.parametrize(("status", "action", "expected"), [
    (status, action, expected)
    for status, row in MATRIX.items() for action, expected in zip(ACTIONS, row, strict=True)
])
def test_each_action_is_allowed_only_in_its_states(status, action, expected):
    payment = payment_in(status)
    before = snapshot(payment)

    if expected is OK:
        ACTIONS[action](payment)
        assert payment.updated_at == LATER
    else:
        with pytest.raises(expected):
            ACTIONS[action](payment)
        assert payment == before


AUTHORIZE_OUTCOMES = {  # (status with the authorization open, outcome) -> new status
    (S.REQUIRES_PAYMENT_METHOD, "succeeded"): S.REQUIRES_CAPTURE,
    (S.REQUIRES_PAYMENT_METHOD, "pending"): S.PROCESSING,
    (S.REQUIRES_PAYMENT_METHOD, "requires_action"): S.REQUIRES_ACTION,
    (S.REQUIRES_PAYMENT_METHOD, "declined"): S.FAILED,
    (S.REQUIRES_ACTION, "succeeded"): S.REQUIRES_CAPTURE,
    (S.REQUIRES_ACTION, "pending"): S.PROCESSING,
    (S.REQUIRES_ACTION, "requires_action"): S.REQUIRES_ACTION,
    (S.REQUIRES_ACTION, "declined"): S.FAILED,
    (S.PROCESSING, "succeeded"): S.REQUIRES_CAPTURE,
    (S.PROCESSING, "pending"): S.PROCESSING,
    (S.PROCESSING, "requires_action"): InvalidStateError,  # would move backwards
    (S.PROCESSING, "declined"): S.FAILED,
}


OPEN_AUTHORIZATION_IN = {S.REQUIRES_PAYMENT_METHOD: None, S.REQUIRES_ACTION: "requires_action",
                         S.PROCESSING: "pending"}


@pytest.mark.parametrize(("status", "kind"), list(AUTHORIZE_OUTCOMES))
def test_an_authorization_outcome_moves_the_payment_forward_only(status, kind):
    payment = new_payment()
    attempt = payment.start_authorization(now=NOW)
    if OPEN_AUTHORIZATION_IN[status]:
        payment.finish_attempt(attempt.seq, outcome(OPEN_AUTHORIZATION_IN[status], payment.amount), now=NOW)
    expected = AUTHORIZE_OUTCOMES[(status, kind)]

    if isinstance(expected, type):
        with pytest.raises(expected):
            payment.finish_attempt(attempt.seq, outcome(kind, payment.amount), now=LATER)
        assert payment.status is status
    else:
        payment.finish_attempt(attempt.seq, outcome(kind, payment.amount), now=LATER)
        assert payment.status is expected


def test_an_automatic_capture_succeeds_in_one_step():
    payment = authorized("succeeded", capture=CaptureMethod.AUTOMATIC)

    assert payment.status is S.SUCCEEDED
    assert payment.amount_captured == payment.amount_authorized == usd(100_00)
    assert payment.card == VISA and payment.provider_ref == REF
    with pytest.raises(InvalidStateError):
        payment.start_capture(now=LATER)


def test_the_transition_table_never_moves_backwards_and_the_ends_are_final():
    order = list(S)

    for source, targets in TRANSITIONS.items():
        assert all(order.index(target) > order.index(source) for target in targets)
    assert TRANSITIONS[S.SUCCEEDED] == TRANSITIONS[S.CANCELED] == TRANSITIONS[S.FAILED] == frozenset()


# Weighted by repetition so that random walks get past the first steps (cancel ends them early).
STEPS = st.lists(st.tuples(
    st.sampled_from(["authorize"] * 2 + ["capture"] * 2 + ["refund"] * 3 + ["settle"] * 6
                    + ["void", "cancel", "unknown"]),
    st.sampled_from(["succeeded"] * 4 + ["pending", "requires_action", "declined"]),
    st.integers(min_value=1, max_value=100_00)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS, automatic=st.booleans())
def test_no_sequence_of_actions_and_outcomes_moves_a_payment_backwards_or_breaks_its_sums(steps, automatic):
    payment = new_payment(capture=CaptureMethod.AUTOMATIC if automatic else CaptureMethod.MANUAL)
    rank = list(S).index

    for action, kind, minor in steps:
        before = payment.status
        try:
            if action == "settle" and payment.in_flight():
                attempt = payment.in_flight()[0]
                amount = usd(minor) if kind == "succeeded" and minor % 7 == 0 else attempt.amount
                answer = outcome(kind, amount, attempt.provider_ref or REF)
                payment.finish_attempt(attempt.seq, answer, now=LATER)
            elif action == "unknown" and payment.in_flight():
                payment.mark_unknown(payment.in_flight()[-1].seq, now=LATER)
            elif action in ("capture", "refund"):
                getattr(payment, f"start_{action}")(usd(minor), now=LATER)
            elif action in ACTIONS:
                ACTIONS[action](payment)
        except (InvalidStateError, ConflictError, InvalidAmountError, RefundExceedsCapturedError,
                ProviderIntegrityError):
            pass

        assert rank(payment.status) >= rank(before)
        assert usd(0) <= payment.amount_captured <= payment.amount_authorized <= payment.amount
        assert payment.amount_refunded + payment.refunds_in_flight <= payment.amount_captured


def test_a_refund_above_what_is_left_is_refused():
    payment = captured()
    first = payment.start_refund(usd(60_00), now=NOW)
    payment.finish_attempt(first.seq, Succeeded("re_1", usd(60_00)), now=NOW)

    with pytest.raises(RefundExceedsCapturedError):
        payment.start_refund(usd(40_01), now=LATER)

    assert payment.amount_refunded == usd(60_00)
    assert payment.amount_refundable == usd(40_00)


def test_refunds_in_flight_reserve_their_amount_so_concurrent_refunds_cannot_exceed_the_capture():
    payment = captured()
    payment.start_refund(usd(60_00), now=NOW)

    with pytest.raises(RefundExceedsCapturedError):
        payment.start_refund(usd(50_00), now=NOW)
    second = payment.start_refund(usd(40_00), now=NOW)

    assert payment.refunds_in_flight == usd(100_00)
    assert payment.amount_refundable == usd(0)
    assert second.status is AttemptStatus.PENDING


def test_a_declined_refund_releases_its_reservation_and_an_unknown_one_keeps_it():
    payment = captured()
    declined = payment.start_refund(usd(30_00), now=NOW)
    unknown = payment.start_refund(usd(30_00), now=NOW)

    payment.finish_attempt(declined.seq, Declined(None, usd(30_00), "amount_too_large"), now=LATER)
    payment.mark_unknown(unknown.seq, now=LATER)

    assert payment.attempt(declined.seq).status is AttemptStatus.FAILED
    assert payment.attempt(unknown.seq).status is AttemptStatus.UNKNOWN
    assert payment.amount_refundable == usd(70_00)
    assert payment.status is S.SUCCEEDED


def test_refunds_keep_the_payment_succeeded_and_derive_the_status_shown_on_the_order():
    payment = captured()
    first = payment.start_refund(usd(25_00), now=NOW)
    payment.finish_attempt(first.seq, Succeeded("re_1", usd(25_00)), now=NOW)
    partly = (payment.status, payment.refund_status, payment.display_status)
    rest = payment.start_refund(now=LATER)  # no amount: all that is left
    payment.finish_attempt(rest.seq, Succeeded("re_2", usd(75_00)), now=LATER)

    assert partly == (S.SUCCEEDED, RefundStatus.PARTIALLY_REFUNDED, DisplayStatus.PARTIALLY_REFUNDED)
    assert (payment.status, payment.refund_status, payment.display_status) == (
        S.SUCCEEDED, RefundStatus.REFUNDED, DisplayStatus.REFUNDED)
    with pytest.raises(RefundExceedsCapturedError):
        payment.start_refund(now=LATER)


@pytest.mark.parametrize("kind", ["succeeded", "declined"])
def test_applying_the_same_outcome_twice_changes_nothing(kind):
    payment = new_payment()
    attempt = payment.start_authorization(now=NOW)
    payment.finish_attempt(attempt.seq, outcome(kind, payment.amount), now=NOW)
    before = snapshot(payment)

    again = payment.finish_attempt(attempt.seq, outcome(kind, payment.amount), now=LATER)

    assert payment == before
    assert again == before.attempts[0]


def test_a_refund_succeeding_twice_is_counted_once():
    payment = captured()
    refund = payment.start_refund(usd(10_00), now=NOW)

    for _ in range(2):
        payment.finish_attempt(refund.seq, Succeeded("re_1", usd(10_00)), now=LATER)

    assert payment.amount_refunded == usd(10_00)


def test_stale_news_is_ignored_and_contradicting_news_is_a_conflict():
    payment = authorized("succeeded")
    before = snapshot(payment)

    payment.finish_attempt(1, Pending(REF, payment.amount), now=LATER)
    payment.finish_attempt(1, RequiresAction(REF, payment.amount, "s", "three_d_secure"), now=LATER)
    with pytest.raises(ConflictError):
        payment.finish_attempt(1, Declined(REF, payment.amount, "card_declined"), now=LATER)

    assert payment == before


def test_a_provider_echoing_another_amount_or_reference_is_not_booked():
    payment = new_payment()
    attempt = payment.start_authorization(now=NOW)
    payment.finish_attempt(attempt.seq, Pending(REF, payment.amount), now=NOW)

    with pytest.raises(ProviderIntegrityError):
        payment.finish_attempt(attempt.seq, Succeeded(REF, usd(99_99)), now=LATER)
    with pytest.raises(ProviderIntegrityError):
        payment.finish_attempt(attempt.seq, Succeeded("pi_other", payment.amount), now=LATER)

    assert payment.status is S.PROCESSING and payment.amount_authorized == usd(0)


@pytest.mark.parametrize("act, refused", [
    (lambda p: p.start_capture(Money.of(50_00, "EUR"), now=LATER), CurrencyMismatchError),
    (lambda p: p.finish_attempt(p.start_capture(now=LATER).seq, Succeeded(REF, Money.of(100_00, "EUR")),
                                now=LATER), ProviderIntegrityError),
])
def test_money_in_another_currency_is_refused(act, refused):
    payment = authorized("succeeded")

    with pytest.raises(refused):
        act(payment)

    assert payment.amount_captured == usd(0)


def test_a_refund_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatchError):
        captured().start_refund(Money.of(1_00, "EUR"), now=LATER)


@pytest.mark.parametrize("amount", [usd(0), usd(-1)])
def test_amounts_must_be_positive(amount):
    with pytest.raises(InvalidAmountError):
        new_payment(amount)
    with pytest.raises(InvalidAmountError):
        authorized("succeeded").start_capture(amount, now=LATER)
    with pytest.raises(InvalidAmountError):
        captured().start_refund(amount, now=LATER)


def test_a_partial_capture_releases_the_rest_and_happens_once():
    payment = authorized("succeeded")
    attempt = payment.start_capture(usd(60_00), now=NOW)

    payment.finish_attempt(attempt.seq, Succeeded(REF, usd(60_00)), now=LATER)

    assert payment.status is S.SUCCEEDED
    assert (payment.amount_authorized, payment.amount_captured) == (usd(100_00), usd(60_00))
    assert payment.amount_capturable == usd(0) and payment.amount_refundable == usd(60_00)
    with pytest.raises(InvalidStateError):
        payment.start_capture(usd(40_00), now=LATER)


def test_capturing_more_than_authorized_is_refused():
    with pytest.raises(InvalidAmountError):
        authorized("succeeded").start_capture(usd(100_01), now=NOW)


def test_a_declined_capture_leaves_the_payment_authorized_for_another_try():
    payment = authorized("succeeded")
    first = payment.start_capture(now=NOW)

    payment.finish_attempt(first.seq, Declined(REF, payment.amount, "processing_error"), now=LATER)
    second = payment.start_capture(now=LATER)

    assert payment.status is S.REQUIRES_CAPTURE
    assert payment.attempt(first.seq).decline_code == "processing_error"
    assert second.seq == first.seq + 1


@pytest.mark.parametrize(("open_kind", "then"), [
    ("capture", lambda p: p.start_capture(now=LATER)),
    ("capture", lambda p: p.start_void(now=LATER)),
    ("void", lambda p: p.start_capture(now=LATER)),
])
def test_a_capture_or_void_in_flight_blocks_another(open_kind, then):
    payment = authorized("succeeded")
    getattr(payment, f"start_{open_kind}")(now=NOW)

    with pytest.raises(ConflictError):
        then(payment)


def test_a_void_cancels_a_payment_and_the_3ds_challenge_left_open():
    payment = authorized("requires_action")
    void = payment.start_void(now=NOW)

    payment.finish_attempt(void.seq, Succeeded(REF, payment.amount), now=LATER)

    assert payment.status is S.CANCELED
    assert payment.attempt(1).status is AttemptStatus.FAILED
    assert payment.attempt(1).decline_code == "canceled"
    assert payment.in_flight() == []


def test_an_unknown_attempt_stays_open_until_the_provider_answers():
    payment = new_payment()
    attempt = payment.start_authorization(now=NOW)

    payment.mark_unknown(attempt.seq, now=NOW)
    still_open = payment.in_flight()
    payment.finish_attempt(attempt.seq, Succeeded(REF, payment.amount), now=LATER)

    assert [a.status for a in still_open] == [AttemptStatus.UNKNOWN]
    assert payment.attempt(attempt.seq).status is AttemptStatus.SUCCEEDED
    assert payment.status is S.REQUIRES_CAPTURE


def test_a_decline_is_recorded_on_the_payment_and_its_attempt():
    payment = authorized("declined")

    assert payment.status is S.FAILED
    assert (payment.decline_code, payment.decline_message) == ("card_declined", "Your card was declined.")
    assert payment.attempts[0].decline_code == "card_declined"


def test_attempts_carry_keys_made_of_the_payment_uuid_and_their_sequence():
    payment = captured()

    refund = payment.start_refund(usd(5_00), now=LATER, reason="damaged")

    assert [a.kind for a in payment.attempts] == [AttemptKind.AUTHORIZE, AttemptKind.CAPTURE,
                                                  AttemptKind.REFUND]
    assert [a.idempotency_key for a in payment.attempts] == [f"{payment.uuid}-{n}" for n in (1, 2, 3)]
    request = payment.refund_request(refund)
    assert (request.idempotency_key, request.provider_ref, request.reason) == (
        f"{payment.uuid}-3", REF, "damaged")
    with pytest.raises(NotFoundError):
        payment.attempt(4)


def test_a_new_payment_has_its_uuid_now_and_its_number_once_stored():
    payment = Payment.new(order_id=1, buyer_id=1, provider="dummy", amount=usd(1), now=NOW)

    assert isinstance(payment.uuid, UUID) and payment.uuid.version == 4
    assert payment.id is None and payment.number is None
    assert payment.authorize_request(payment.start_authorization(now=NOW), payment_method="pm_card_visa"
                                     ).metadata == {"payment_uuid": str(payment.uuid), "order_id": "1"}


def test_a_request_carries_the_attempt_key_and_what_the_provider_knows():
    payment = authorized("succeeded")
    payment.id, payment.number = 41, "TXN-00000000002A"  # as the database sets them
    capture = payment.start_capture(usd(10_00), now=LATER)

    request = payment.capture_request(capture)
    authorize = payment.authorize_request(payment.attempt(1), payment_method="pm_card_visa")

    assert (request.provider_ref, request.amount) == (REF, usd(10_00))
    assert request.idempotency_key == capture.idempotency_key
    assert authorize.metadata["payment_number"] == "TXN-00000000002A"


def test_a_payment_rebuilt_from_stored_text_statuses_works_and_a_corrupt_one_is_refused():
    stored = authorized("succeeded")

    rebuilt = replace(stored, status="requires_capture", capture_method="manual")
    rebuilt.start_capture(now=LATER)

    with pytest.raises(AssertionError):
        replace(stored, amount_captured=usd(100_01))


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError):
        new_payment().start_authorization(now=datetime(2026, 6, 15, 12, 0))
