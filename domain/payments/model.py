"""The payment aggregate: collecting one order's amount through one provider, like Stripe's
PaymentIntent, with every call to the provider recorded as an attempt.

Status, which only ever moves forward (TRANSITIONS is the one table of allowed moves):

    requires_payment_method -> requires_action -> processing -> requires_capture -> succeeded
          (created)              (3-D Secure)      (provider     (manual capture:     (captured)
                                                    deciding)     authorized)
    any status before succeeded may also end in canceled or failed (see the table for which).

A declined authorization ends the payment in `failed`: a customer who tries again gets a new
payment for the same order, so each payment tells one story. While an attempt is with the
provider the status doesn't change; the attempt says "pending", and the outcome moves the status.

A payment opened at the provider (`checkout` set: Stripe Elements, hosted or embedded Checkout)
is completed by the customer on the provider's page or element. An element may decline a card
and take another on the same payment: there a decline is news, not the end. The authorization
stays open (`requires_action`, the last decline kept like Stripe's `last_payment_error`) until
the provider says it succeeded, or that the payment was canceled (CLOSING_DECLINES).

Refunds don't change the status. As Stripe keeps a refunded PaymentIntent `succeeded` and tracks
`amount_refunded`, so do we; `refund_status` and `display_status` derive "partially_refunded" and
"refunded" from the amounts for order pages and listings.

Two phases per provider call (STYLE.md section 5): `start_*` records a pending attempt and is
committed before the call; `finish_attempt` applies the outcome afterwards. Applying an outcome
is idempotent (a webhook and the call's own answer may both arrive), stale news (Pending after
Succeeded) is ignored, and contradicting news (Declined after Succeeded) is a `ConflictError`.
Pending and unknown refunds reserve their amount, so concurrent refunds can't exceed the capture.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from uuid import UUID, uuid4

from domain.cards import CardInput, CardSummary
from domain.errors import (
    ConflictError,
    CurrencyMismatchError,
    InvalidAmountError,
    InvalidStateError,
    NotFoundError,
    ProviderIntegrityError,
    RefundExceedsCapturedError,
    ValidationError,
)
from domain.money import Money
from domain.payments.provider import (
    AuthorizeRequest,
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    Declined,
    LineItem,
    OpenRequest,
    Outcome,
    Pending,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from domain.payments.status import (
    BLOCKED_BY,
    CANCELABLE,
    STARTS,
    TRANSITIONS,
    VOIDED_DECLINE_CODE,
    AttemptKind,
    AttemptStatus,
    DisplayStatus,
    PaymentStatus,
    RefundStatus,
    S,
)
from domain.stored import stored
from domain.text import refuse_card_numbers


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("timestamps are timezone-aware (UTC)")
    return now


def _require(condition: bool, message: str) -> None:
    # Invariants hold whatever Python's -O says: a broken one means corrupt money data.
    if not condition:
        raise AssertionError(message)


# Declines that end a payment opened at the provider: the page is gone, not just a card refused.
EXPIRED_DECLINE_CODE = "expired"
# PayPal's: an order whose capture (or authorization) PayPal denied, or that it voided, is over;
# the buyer can't approve it again (providers/paypal/wire.py).
PAYPAL_CLOSING = frozenset({"capture_denied", "capture_declined", "capture_failed", "authorization_denied",
                            "authorization_voided", "authorization_expired", "order_voided"})
CLOSING_DECLINES = frozenset({VOIDED_DECLINE_CODE, EXPIRED_DECLINE_CODE}) | PAYPAL_CLOSING
# Stripe takes at most eight digits of minor units ($999,999.99); a larger amount is refused here,
# before anything is recorded, rather than by the provider after.
MAX_AMOUNT_MINOR = 99_999_999
# Stripe allows 50 metadata keys; ours (payment_uuid, payment_number, order_id, order) take four.
OUR_TAGS = frozenset({"payment_uuid", "payment_number", "order_id", "order"})
MAX_METADATA = 50 - len(OUR_TAGS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One call to the provider. Its `seq` (1, 2, ... within the payment) names it, and with the
    payment's UUID makes the idempotency key, so a retry of the same attempt can't act twice."""

    id: int | None = None  # the database row's, once stored
    seq: int
    kind: AttemptKind
    amount: Money
    status: AttemptStatus = AttemptStatus.PENDING
    idempotency_key: str
    provider_ref: str | None = None
    decline_code: str | None = None
    reason: str | None = None  # refunds: why, as the customer or staff said it
    # The client's Idempotency-Key (hashed with its caller) that started this attempt: the same
    # key again resumes it, with its own provider key, instead of starting another.
    client_key: str | None = None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        # Rows come back with plain strings; the `is` comparisons below need the members.
        object.__setattr__(self, "kind", AttemptKind(self.kind))
        object.__setattr__(self, "status", AttemptStatus(self.status))

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("attempt id", self.id)

    @property
    def in_flight(self) -> bool:
        return self.status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN)


@dataclass(slots=True, kw_only=True)
class Payment:
    id: int | None = None  # the database row's, once stored
    uuid: UUID
    number: str | None = None  # "TXN-…", from the id once stored (domain.numbers.payment_number)
    order_id: int | None  # None: a direct payment for an amount, not for an order (seed 002)
    buyer_id: int
    provider: str
    amount: Money
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    checkout: CheckoutKind | None = None  # set when opened at the provider, completed by the customer there
    metadata: dict[str, str] = field(default_factory=dict)  # the client's own tags, echoed back
    status: PaymentStatus = PaymentStatus.REQUIRES_PAYMENT_METHOD
    amount_authorized: Money
    amount_captured: Money
    amount_refunded: Money
    # Withheld by disputes open or lost (domain/disputes): captured, but no longer refundable.
    amount_disputed: Money | None = None
    card: CardSummary | None = None
    provider_ref: str | None = None
    client_secret: str | None = None  # lets the client finish a 3-D Secure challenge after a reload
    redirect_url: str | None = None  # the provider's page where the customer acts (hosted Checkout, 3-D Secure)
    decline_code: str | None = None
    decline_message: str | None = None
    created_at: datetime
    updated_at: datetime
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = PaymentStatus(self.status)
        self.capture_method = CaptureMethod(self.capture_method)
        if self.checkout is not None:
            self.checkout = CheckoutKind(self.checkout)
        if self.amount_disputed is None:
            self.amount_disputed = Money(0, self.amount.currency)
        self._check()

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("payment id", self.id)

    @classmethod
    def new(cls, *, order_id: int | None, buyer_id: int, provider: str, amount: Money, now: datetime,
            capture_method: CaptureMethod = CaptureMethod.AUTOMATIC, uuid: UUID | None = None,
            checkout: CheckoutKind | None = None, metadata: Mapping[str, str] | None = None) -> Payment:
        if amount.minor <= 0:
            raise InvalidAmountError(f"a payment is for a positive amount, not {amount}")
        if amount.minor > MAX_AMOUNT_MINOR:
            raise InvalidAmountError(f"a payment is for at most {Money(MAX_AMOUNT_MINOR, amount.currency)}, "
                                     f"not {amount}")
        ident = uuid or uuid4()
        zero = Money(0, amount.currency)
        return cls(uuid=ident, order_id=order_id, buyer_id=buyer_id, checkout=checkout,
                   metadata=_metadata(metadata or {}),
                   provider=provider, amount=amount, capture_method=CaptureMethod(capture_method),
                   amount_authorized=zero, amount_captured=zero, amount_refunded=zero,
                   created_at=_aware(now), updated_at=now)

    # --- what can be read --------------------------------------------------------------------

    @property
    def amount_capturable(self) -> Money:
        # Like Stripe: once captured, in part or in full, the rest of the authorization is released.
        if self.status is S.REQUIRES_CAPTURE:
            return self.amount_authorized - self.amount_captured
        return self._zero

    @property
    def refunds_in_flight(self) -> Money:
        return sum((a.amount for a in self.in_flight(AttemptKind.REFUND)), self._zero)

    @property
    def disputed(self) -> Money:
        return self.amount_disputed if self.amount_disputed is not None else self._zero

    @property
    def amount_refundable(self) -> Money:
        return self.amount_captured - self.amount_refunded - self.refunds_in_flight - self.disputed

    def withhold_for_dispute(self, amount: Money, *, now: datetime) -> Money:
        """Count up to `amount` as withheld by a dispute, at most what is left to refund; answers
        what was counted (the rest was already refunded, or is being)."""
        taken = min(self._checked(amount), self.amount_refundable)
        if taken.minor:
            self.amount_disputed = self.disputed + taken
            self.updated_at = _aware(now)
            self._check()
        return taken

    def release_dispute(self, amount: Money, *, now: datetime) -> None:
        """A won dispute gives back what it withheld: refundable again."""
        if amount.minor:
            self.amount_disputed = self.disputed - amount
            self.updated_at = _aware(now)
            self._check()

    @property
    def refund_status(self) -> RefundStatus:
        if self.amount_refunded.minor == 0:
            return RefundStatus.NONE
        if self.amount_refunded == self.amount_captured:
            return RefundStatus.REFUNDED
        return RefundStatus.PARTIALLY_REFUNDED

    @property
    def display_status(self) -> DisplayStatus:
        refund = self.refund_status
        return DisplayStatus(self.status.value if refund is RefundStatus.NONE else refund.value)

    def attempt(self, seq: int) -> Attempt:
        if not 1 <= seq <= len(self.attempts):
            raise NotFoundError("attempt", f"{self._name}#{seq}")
        return self.attempts[seq - 1]

    def find_attempt(self, provider_ref: str, kind: AttemptKind | None = None) -> Attempt | None:
        """The latest attempt the provider knows by this reference (a webhook names no seq)."""
        for attempt in reversed(self.attempts):
            if attempt.provider_ref == provider_ref and kind in (None, attempt.kind):
                return attempt
        return None

    def in_flight(self, *kinds: AttemptKind) -> list[Attempt]:
        return [a for a in self.attempts if a.in_flight and (not kinds or a.kind in kinds)]

    # --- phase one: record the attempt before calling the provider ---------------------------

    def start_authorization(self, *, now: datetime, card: CardSummary | None = None) -> Attempt:
        self._may_start(AttemptKind.AUTHORIZE)
        if card is not None:
            self.card = card
        return self._add_attempt(AttemptKind.AUTHORIZE, self.amount, now)

    def start_capture(self, amount: Money | None = None, *, now: datetime, client_key: str | None = None) -> Attempt:
        """Capture all or part of the authorization, once: whatever is not captured is released."""
        if self.capture_method is not CaptureMethod.MANUAL:
            raise InvalidStateError(f"{self._name} is captured automatically")
        self._may_start(AttemptKind.CAPTURE)
        amount = self.amount_capturable if amount is None else self._checked(amount)
        if amount > self.amount_capturable:
            raise InvalidAmountError(f"at most {self.amount_capturable} can be captured, not {amount}")
        return self._add_attempt(AttemptKind.CAPTURE, amount, now, client_key=client_key)

    def start_void(self, *, now: datetime, client_key: str | None = None) -> Attempt:
        self._may_start(AttemptKind.VOID)
        if self.provider_ref is None:
            raise InvalidStateError(f"{self._name} has nothing at the provider to void")
        held = self.amount_authorized if self.status is S.REQUIRES_CAPTURE else self.amount
        return self._add_attempt(AttemptKind.VOID, held, now, client_key=client_key)

    def started_by(self, client_key: str | None, kind: AttemptKind | None, amount: Money | None) -> Attempt | None:
        """The attempt this client key started, if any: the same request again resumes it. The key
        used for another kind of attempt (None: any kind will do), or another amount, is a
        ConflictError."""
        if client_key is None:
            return None
        found = next((a for a in self.attempts if a.client_key == client_key), None)
        if found is not None and ((kind is not None and found.kind is not kind)
                                  or (amount is not None and amount != found.amount)):
            raise ConflictError(f"this idempotency key started {found.kind} #{found.seq} of {self._name} "
                                f"for {found.amount}: it can't be used for another request")
        return found

    def start_refund(self, amount: Money | None = None, *, now: datetime,
                     reason: str | None = None, client_key: str | None = None) -> Attempt:
        """Refund part or all of what is left; refunds still in flight count as already refunded."""
        self._may_start(AttemptKind.REFUND)
        refundable = self.amount_refundable
        amount = refundable if amount is None else self._checked(amount)
        if amount.minor <= 0 or amount > refundable:
            raise RefundExceedsCapturedError(
                f"{amount} asked, {refundable} left to refund on {self._name} "
                f"({self.amount_captured} captured, {self.amount_refunded} refunded, "
                f"{self.refunds_in_flight} in flight)")
        return self._add_attempt(AttemptKind.REFUND, amount, now, reason=reason, client_key=client_key)

    def cancel(self, *, now: datetime) -> None:
        """Cancel before anything reached the provider; after that, void instead."""
        if self.status not in CANCELABLE or self.in_flight():
            raise InvalidStateError(f"{self._name} is {self.status}: only the provider can cancel it now")
        self._move(S.CANCELED)
        self.updated_at = _aware(now)
        self._check()

    # --- provider requests for an attempt ----------------------------------------------------

    def authorize_request(self, attempt: Attempt, *, card: CardInput | None = None,
                          payment_method: str | None = None,
                          metadata: Mapping[str, str] | None = None) -> AuthorizeRequest:
        self._own(attempt, AttemptKind.AUTHORIZE)
        return AuthorizeRequest(amount=attempt.amount, idempotency_key=attempt.idempotency_key,
                                capture_method=self.capture_method, card=card,
                                payment_method=payment_method, metadata=self._tags(metadata))

    def open_request(self, attempt: Attempt, *, lines: tuple[LineItem, ...] = (), return_url: str | None = None,
                     cancel_url: str | None = None, expires_at: datetime | None = None,
                     customer_email: str | None = None, metadata: Mapping[str, str] | None = None) -> OpenRequest:
        self._own(attempt, AttemptKind.AUTHORIZE)
        if self.checkout is None:
            raise InvalidStateError(f"{self._name} is paid with the customer's card here, not opened at the provider")
        return OpenRequest(amount=attempt.amount, idempotency_key=attempt.idempotency_key, kind=self.checkout,
                           capture_method=self.capture_method, metadata=self._tags(metadata), lines=lines,
                           return_url=return_url, cancel_url=cancel_url, expires_at=expires_at,
                           customer_email=customer_email, opened_at=attempt.created_at)

    def _tags(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        # Ours last: a client's tag can't redirect the provider's news to another payment or order.
        tags = {**self.metadata, **(extra or {}), "payment_uuid": str(self.uuid)}
        if self.order_id is not None:
            tags["order_id"] = str(self.order_id)
        if self.number:
            tags["payment_number"] = self.number
        return tags

    def capture_request(self, attempt: Attempt) -> CaptureRequest:
        self._own(attempt, AttemptKind.CAPTURE)
        return CaptureRequest(self._ref(), attempt.amount, attempt.idempotency_key)

    def void_request(self, attempt: Attempt) -> VoidRequest:
        self._own(attempt, AttemptKind.VOID)
        return VoidRequest(self._ref(), attempt.idempotency_key)

    def refund_request(self, attempt: Attempt) -> RefundRequest:
        self._own(attempt, AttemptKind.REFUND)
        # Refund what captured the money: for some providers (PayPal) a capture has its own id.
        refs = [a.provider_ref for a in self.attempts if a.status is AttemptStatus.SUCCEEDED
                and a.kind in (AttemptKind.AUTHORIZE, AttemptKind.CAPTURE) and a.provider_ref]
        return RefundRequest(refs[-1] if refs else self._ref(), attempt.amount, attempt.idempotency_key,
                             attempt.reason)

    # --- phase two: apply what the provider answered -----------------------------------------

    def mark_unknown(self, seq: int, *, now: datetime) -> Attempt:
        """The call failed without an answer (ProviderUnavailableError): keep it open, flagged."""
        attempt = self.attempt(seq)
        if attempt.status is not AttemptStatus.PENDING:
            return attempt  # already unknown, or settled by news that arrived first
        self.updated_at = _aware(now)
        return self._replace(attempt, now, status=AttemptStatus.UNKNOWN)

    def finish_attempt(self, seq: int, outcome: Outcome, *, now: datetime) -> Attempt:
        """Apply the provider's answer to attempt `seq`. The same answer twice changes nothing,
        not even `updated_at`."""
        _aware(now)
        attempt = self.attempt(seq)
        self._check_echo(attempt, outcome)
        before = self._state()
        finished = self._apply(attempt, outcome, now)
        if self._state() != before:
            self.updated_at = now
        return finished

    def _apply(self, attempt: Attempt, outcome: Outcome, now: datetime) -> Attempt:
        if not attempt.in_flight:
            return self._settled_already(attempt, outcome)
        if isinstance(outcome, RequiresAction) and attempt.kind is not AttemptKind.AUTHORIZE:
            raise InvalidStateError(f"a {attempt.kind} can't require the customer's action")
        ref = outcome.provider_ref or attempt.provider_ref
        if isinstance(outcome, Pending | RequiresAction):
            if attempt.kind is AttemptKind.AUTHORIZE:
                self._move(S.PROCESSING if isinstance(outcome, Pending) else S.REQUIRES_ACTION)
                self.provider_ref = ref or self.provider_ref
                self.card = outcome.card or self.card
                if isinstance(outcome, RequiresAction):  # a later reading may leave them out
                    self.client_secret = outcome.client_secret or self.client_secret
                    self.redirect_url = outcome.redirect_url or self.redirect_url
            return self._replace(attempt, now, status=AttemptStatus.PENDING, provider_ref=ref)
        if isinstance(outcome, Declined):
            if attempt.kind is AttemptKind.AUTHORIZE and self._customer_may_retry(outcome):
                if self.status is not S.PROCESSING:  # a delayed method that failed: stays as it is
                    self._move(S.REQUIRES_ACTION)
                self.card = outcome.card or self.card
                self.decline_code, self.decline_message = outcome.decline_code, outcome.message or None
                return self._replace(attempt, now, provider_ref=ref, decline_code=outcome.decline_code)
            if attempt.kind is AttemptKind.AUTHORIZE:
                self._move(S.FAILED)
                self.provider_ref = ref or self.provider_ref
                self.card = outcome.card or self.card
                self.decline_code, self.decline_message = outcome.decline_code, outcome.message or None
            return self._replace(attempt, now, status=AttemptStatus.FAILED, provider_ref=ref,
                                 decline_code=outcome.decline_code)
        self._succeed(attempt, outcome, now)
        return self._replace(attempt, now, status=AttemptStatus.SUCCEEDED, provider_ref=ref)

    def _customer_may_retry(self, outcome: Declined) -> bool:
        # In the provider's element a refused card (or a delayed method that failed) is followed
        # by another try on the same payment, which the provider keeps payable: ending ours would
        # leave a later success unbooked. Only a canceled payment (or one never opened) ends it.
        # A Checkout page that reports a decline has completed: nobody can try again there.
        return (self.checkout is CheckoutKind.ELEMENTS and self.provider_ref is not None
                and outcome.decline_code not in CLOSING_DECLINES)

    def _succeed(self, attempt: Attempt, outcome: Succeeded, now: datetime) -> None:
        if attempt.kind is AttemptKind.AUTHORIZE:
            automatic = self.capture_method is CaptureMethod.AUTOMATIC
            self._move(S.SUCCEEDED if automatic else S.REQUIRES_CAPTURE)
            self.provider_ref = outcome.provider_ref
            self.card = outcome.card or self.card
            self.amount_authorized = outcome.amount
            if automatic:
                self.amount_captured = outcome.amount
        elif attempt.kind is AttemptKind.CAPTURE:
            self._move(S.SUCCEEDED)
            self.amount_captured = outcome.amount
        elif attempt.kind is AttemptKind.VOID:
            self._move(S.CANCELED)
            for open_auth in self.in_flight(AttemptKind.AUTHORIZE):
                self._replace(open_auth, now, status=AttemptStatus.FAILED, decline_code=VOIDED_DECLINE_CODE)
        else:
            self.amount_refunded = self.amount_refunded + outcome.amount

    def _settled_already(self, attempt: Attempt, outcome: Outcome) -> Attempt:
        settled_as = {Succeeded: AttemptStatus.SUCCEEDED, Declined: AttemptStatus.FAILED}.get(type(outcome))
        if settled_as is None or settled_as is attempt.status:
            return attempt  # a replay, or stale news (Pending after the end): nothing changes
        raise ConflictError(f"{self._name}#{attempt.seq} already {attempt.status}; "
                            f"the provider now says {type(outcome).__name__.lower()}")

    def _check_echo(self, attempt: Attempt, outcome: Outcome) -> None:
        # The provider must echo what we asked: money that moved in another amount or currency, or
        # an answer about another object, is a bug somewhere that must not be booked.
        if outcome.amount is not None and outcome.amount.currency is not self.amount.currency:
            raise ProviderIntegrityError(f"{self._name}#{attempt.seq}: asked in {self.amount.code}, "
                                         f"provider answered in {outcome.amount.code}")
        if isinstance(outcome, Succeeded) and outcome.amount != attempt.amount:
            raise ProviderIntegrityError(f"{self._name}#{attempt.seq}: asked {attempt.amount}, "
                                f"provider moved {outcome.amount}")
        known = attempt.provider_ref or (self.provider_ref if attempt.kind is AttemptKind.AUTHORIZE else None)
        if known and outcome.provider_ref and outcome.provider_ref != known:
            raise ProviderIntegrityError(f"{self._name}#{attempt.seq} is {known} at the provider, "
                                f"not {outcome.provider_ref}")

    # --- internals ---------------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return self.number or f"payment {self.uuid}"

    @property
    def _zero(self) -> Money:
        return Money(0, self.amount.currency)

    def _checked(self, amount: Money) -> Money:
        if amount.currency is not self.amount.currency:
            raise CurrencyMismatchError(self.amount.code, amount.code)
        if amount.minor <= 0:
            raise InvalidAmountError(f"the amount must be positive, not {amount}")
        return amount

    def _may_start(self, kind: AttemptKind) -> None:
        if self.status not in STARTS[kind]:
            raise InvalidStateError(f"can't {kind} {self._name}: it is {self.status}")
        busy = [a for a in self.in_flight() if a.kind in BLOCKED_BY[kind]]
        if busy:
            raise ConflictError(f"can't {kind} {self._name}: a {busy[0].kind} is in flight")

    def _own(self, attempt: Attempt, kind: AttemptKind) -> None:
        if attempt.kind is not kind or self.attempt(attempt.seq).idempotency_key != attempt.idempotency_key:
            raise ValueError(f"attempt {attempt.seq} is not a {kind} of {self._name}")

    def _ref(self) -> str:
        if self.provider_ref is None:
            raise InvalidStateError(f"{self._name} is not known at the provider yet")
        return self.provider_ref

    def _move(self, to: PaymentStatus) -> None:
        if to is not self.status and to not in TRANSITIONS[self.status]:
            raise InvalidStateError(f"{self._name} can't go from {self.status} to {to}")
        self.status = to

    def _add_attempt(self, kind: AttemptKind, amount: Money, now: datetime, *,
                     reason: str | None = None, client_key: str | None = None) -> Attempt:
        seq = len(self.attempts) + 1
        attempt = Attempt(seq=seq, kind=kind, amount=amount, idempotency_key=f"{self.uuid}-{seq}",
                          reason=reason, client_key=client_key, created_at=_aware(now), updated_at=now)
        self.attempts.append(attempt)
        self.updated_at = now
        self._check()
        return attempt

    def _replace(self, attempt: Attempt, now: datetime, **changes: object) -> Attempt:
        if all(getattr(attempt, name) == value for name, value in changes.items()):
            return attempt
        updated = replace(attempt, updated_at=now, **changes)  # type: ignore[arg-type]
        self.attempts[attempt.seq - 1] = updated
        self._check()
        return updated

    def _state(self) -> tuple[object, ...]:
        kept = (getattr(self, f.name) for f in fields(self) if f.name not in ("updated_at", "attempts"))
        return (*kept, tuple(self.attempts))

    def _check(self) -> None:
        cur, zero = self.amount.currency, self._zero
        _require(all(m.currency is cur for m in (self.amount_authorized, self.amount_captured,
                                                  self.amount_refunded, self.disputed)), "one currency per payment")
        _require(self.amount.minor > 0, "a payment is for a positive amount")
        _require(zero <= self.amount_captured <= self.amount_authorized <= self.amount,
                 f"{self._name}: 0 <= captured <= authorized <= amount")
        _require(zero <= self.amount_refunded and zero <= self.disputed
                 and self.amount_refunded + self.refunds_in_flight + self.disputed <= self.amount_captured,
                 f"{self._name}: refunded, refunds in flight and disputes exceed the capture")
        _require(all(a.seq == i and a.idempotency_key == f"{self.uuid}-{i}" and a.amount.currency is cur
                     for i, a in enumerate(self.attempts, 1)), f"{self._name}: attempts out of sequence")
        if self.status is S.REQUIRES_CAPTURE:
            _require(self.amount_authorized.minor > 0 and self.amount_captured.minor == 0,
                     f"{self._name}: authorized, not yet captured")
        if self.status is S.SUCCEEDED:
            _require(self.amount_captured.minor > 0, f"{self._name}: succeeded means captured")


def _metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """A client's tags, within Stripe's limits (50 keys with ours, keys 40 and values 500 characters)."""
    if len(metadata) > MAX_METADATA:
        raise ValidationError(f"at most {MAX_METADATA} metadata keys", "metadata")
    for key, value in metadata.items():
        if not (isinstance(key, str) and 0 < len(key) <= 40 and "[" not in key and "]" not in key
                and isinstance(value, str) and len(value) <= 500):
            raise ValidationError("metadata keys are 1-40 characters without brackets, and values strings of "
                                  "at most 500", "metadata")
        if key in OUR_TAGS:
            raise ValidationError(f"metadata key {key!r} is paygate's own", "metadata")
        refuse_card_numbers(key, value, field="metadata")
    return dict(metadata)
