"""The payment provider port: what paygate asks of Stripe, PayPal, the dummy gateway and the rest.

One narrow flow per method (authorize, capture, void, refund, fetch), typed requests in, typed
outcomes out. A decline is an outcome, not an exception. The only exception a provider lets out
for a failed call is `ProviderUnavailableError` (timeout, 5xx, broken connection): it means the
outcome is unknown and the caller retries later with the same idempotency key. Adapters translate
their SDK's or HTTP client's exceptions to it at their edge, and check that the amount and
currency the provider echoes are the ones they sent.

Outcomes:
  Succeeded       done: authorized (or captured, for automatic capture), captured, voided, refunded
  Pending         accepted, not decided yet; ask again with `fetch` or wait for the webhook
  RequiresAction  the customer must act first (3-D Secure); `client_secret` lets the client do it
  Declined        refused, with the provider's decline code; nothing moved

An authorization whose answer was lost leaves us without the provider's reference; a provider
with Capability.FIND finds it by what we sent (`find_authorization`), so the worker settles it
without a webhook (domain/payments/reconcile.py).

A provider with rules of its own about amounts (PayPal's currencies and whole-unit HUF/JPY/TWD,
Razorpay's minimum) says so with `check_amount` (AmountRulesProvider), which every use case asks
through `Providers.check_amount` before anything is recorded: such an amount is invalid input,
refused with nothing written, never a decline booked after the fact.

`fetch(provider_ref)` answers the state of a payment (an authorization: Succeeded means
authorized, or captured when capture is automatic) or of a refund, by the reference the
provider gave it. A capture, void or refund whose answer was lost is settled by sending the same
request with the same idempotency key again, which providers answer with their first outcome.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeAlias

from domain.cards import CardInput, CardSummary
from domain.errors import InvalidAmountError, NotFoundError, ValidationError
from domain.money import Money
from domain.text import redact_card_numbers, refuse_card_numbers


class Capability(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"
    FETCH = "fetch"
    CONNECT = "connect"
    CUSTOMERS = "customers"
    SUBSCRIPTIONS = "subscriptions"
    CHECKOUT = "checkout"  # `open`: the customer pays on the provider's own page or element
    FIND = "find"  # `find_authorization`: an authorization found without its reference
    COMPLETE = "complete"  # `complete`: the customer's answer from the provider's checkout, verified


class CheckoutKind(StrEnum):
    """How a customer completes a payment `open`ed at the provider (Stripe's names in brackets)."""

    ELEMENTS = "elements"  # the provider's script confirms it in the shop's own page [PaymentIntent + Stripe.js]
    HOSTED = "hosted"  # the provider's payment page, redirected to [Checkout Session, ui_mode hosted]
    EMBEDDED = "embedded"  # the provider's payment page inside the shop's [Checkout Session, ui_mode embedded]


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"  # authorize and capture in one step
    MANUAL = "manual"  # authorize now, capture (all or part, once) or void later


def _positive(amount: Money) -> None:
    if amount.minor <= 0:
        raise InvalidAmountError(f"the amount must be positive, got {amount}")


def _key(idempotency_key: str) -> None:
    if not idempotency_key:
        raise ValidationError("every provider request carries an idempotency key", "idempotency_key")


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """Charge a card (typed, for this request only) or a provider's saved payment method token."""

    amount: Money
    idempotency_key: str
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    card: CardInput | None = None
    payment_method: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive(self.amount)
        _key(self.idempotency_key)
        object.__setattr__(self, "capture_method", CaptureMethod(self.capture_method))
        if (self.card is None) == (self.payment_method is None):
            raise ValidationError("give either a card or a payment method, not both", "payment_method")


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of what is bought, as a provider's payment page lists it."""

    name: str
    unit_amount: Money
    quantity: int

    def __post_init__(self) -> None:
        _positive(self.unit_amount)
        if self.quantity <= 0:
            raise ValidationError("a line's quantity is positive", "quantity")


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """Open a payment that the customer completes at the provider (card details never reach us).

    The answer is `RequiresAction` (the customer must act: `client_secret` for ELEMENTS and
    EMBEDDED, `redirect_url` for HOSTED) or `Declined`; later `fetch(provider_ref)` and the
    provider's webhooks tell how it ended. `lines`, when given, add up to `amount` (pages show
    them); `return_url` is where EMBEDDED and HOSTED pages send the customer afterwards (HOSTED
    also `cancel_url`); `expires_at` bounds how long the page takes payment (the order's
    reservation), moved into what the provider allows.
    """

    amount: Money
    idempotency_key: str
    kind: CheckoutKind
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    metadata: Mapping[str, str] = field(default_factory=dict)
    lines: tuple[LineItem, ...] = ()
    return_url: str | None = None
    cancel_url: str | None = None
    expires_at: datetime | None = None
    customer_email: str | None = None
    # When the attempt was recorded: a provider that bounds `expires_at` by its own "now" bounds it
    # from this instead, so a retry with the same idempotency key sends the same parameters.
    opened_at: datetime | None = None

    def __post_init__(self) -> None:
        _positive(self.amount)
        _key(self.idempotency_key)
        object.__setattr__(self, "kind", CheckoutKind(self.kind))
        object.__setattr__(self, "capture_method", CaptureMethod(self.capture_method))
        if self.lines:
            total = sum((line.unit_amount * line.quantity for line in self.lines), Money(0, self.amount.currency))
            if total != self.amount:
                raise InvalidAmountError(f"the lines add up to {total}, not {self.amount}")
        check_page_urls(self.kind, self.return_url, self.cancel_url)


MAX_URL = 2048


def check_page_urls(kind: CheckoutKind, return_url: str | None, cancel_url: str | None) -> None:
    """A provider's page needs an absolute http(s) address to send the customer back to."""
    for name, url in (("return_url", return_url), ("cancel_url", cancel_url)):
        if url is None:
            if name == "return_url" and CheckoutKind(kind) is not CheckoutKind.ELEMENTS:
                raise ValidationError("a payment page needs the address to send the customer back to", name)
        elif not (url.startswith(("https://", "http://")) and len(url) <= MAX_URL):
            raise ValidationError(f"{name} must be an absolute http(s) URL of at most {MAX_URL} characters", name)
        else:
            refuse_card_numbers(url, field=name)  # sent to the provider and shown back to the customer


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    provider_ref: str
    amount: Money  # at most what was authorized; the rest is released
    idempotency_key: str

    def __post_init__(self) -> None:
        _positive(self.amount)
        _key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class VoidRequest:
    provider_ref: str
    idempotency_key: str

    def __post_init__(self) -> None:
        _key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    provider_ref: str  # the payment's reference, not a refund's
    amount: Money
    idempotency_key: str
    reason: str | None = None

    def __post_init__(self) -> None:
        _positive(self.amount)
        _key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class FindRequest:
    """An authorization (or an opening) that was sent and whose answer never came back, so we
    hold no reference of the provider's: it is found by what the request carried, the payment's
    uuid (in every request's metadata, as `payment_uuid`) and the attempt's idempotency key."""

    payment_uuid: str
    idempotency_key: str
    amount: Money
    sent_at: datetime  # when the attempt was recorded, just before the request left

    def __post_init__(self) -> None:
        _positive(self.amount)
        _key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class CompleteRequest:
    """What the provider's checkout handed the customer's browser when it ended (Razorpay Checkout's
    signed `razorpay_payment_id` / `razorpay_order_id` / `razorpay_signature`, Flutterwave's redirect
    `transaction_id`), for the payment opened as `provider_ref` for `amount`. Never trusted as it
    comes: the adapter verifies it (a signature, or asking the provider) before any outcome."""

    provider_ref: str
    amount: Money
    answer: Mapping[str, str]

    def __post_init__(self) -> None:
        _positive(self.amount)
        for name, value in self.answer.items():
            if not isinstance(value, str) or len(value) > 255:
                raise ValidationError(f"{name} must be a string of at most 255 characters", name)


@dataclass(frozen=True, slots=True)
class Succeeded:
    provider_ref: str
    amount: Money
    card: CardSummary | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    provider_ref: str
    amount: Money
    card: CardSummary | None = None


@dataclass(frozen=True, slots=True)
class RequiresAction:
    provider_ref: str
    amount: Money
    client_secret: str  # what the client-side library needs to let the customer act
    next_action: str  # "three_d_secure", or the provider's own kind of action
    redirect_url: str | None = None
    card: CardSummary | None = None


@dataclass(frozen=True, slots=True)
class Declined:
    provider_ref: str | None  # None when the provider refused before creating anything
    amount: Money | None  # None only when the provider can't say: it doesn't know `provider_ref`
    decline_code: str  # the provider's code, e.g. Stripe's "card_declined", "insufficient_funds"
    message: str = ""
    card: CardSummary | None = None

    def __post_init__(self) -> None:
        # The provider's words are stored and shown: they may quote what it was sent ("No such
        # PaymentMethod: '4876…'"). Masked, never refused: the answer must settle whatever it says.
        # (References are kept as given: they are how the provider finds the object again.)
        object.__setattr__(self, "message", redact_card_numbers(self.message or ""))
        object.__setattr__(self, "decline_code", redact_card_numbers(self.decline_code))


Outcome: TypeAlias = Succeeded | Pending | RequiresAction | Declined


def is_final(outcome: Outcome) -> bool:
    """Succeeded and Declined settle an attempt; Pending and RequiresAction leave it open."""
    return isinstance(outcome, Succeeded | Declined)


class PaymentProvider(Protocol):
    """One payment provider. `name` and `capabilities` are fixed for the life of the process."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    async def authorize(self, req: AuthorizeRequest) -> Outcome: ...

    async def capture(self, req: CaptureRequest) -> Outcome: ...

    async def void(self, req: VoidRequest) -> Outcome: ...

    async def refund(self, req: RefundRequest) -> Outcome: ...

    async def fetch(self, provider_ref: str) -> Outcome: ...


class CheckoutProvider(PaymentProvider, Protocol):
    """A provider with Capability.CHECKOUT. The reference `open` answers is the payment's from
    then on: capture, void, refund and fetch take it (Stripe's adapter finds the PaymentIntent
    behind a Checkout Session itself)."""

    async def open(self, req: OpenRequest) -> Outcome: ...


class CompletingProvider(CheckoutProvider, Protocol):
    """A provider with Capability.COMPLETE: its checkout ends in the customer's browser with an
    answer we verify server-side before recording anything paid."""

    async def complete(self, req: CompleteRequest) -> Outcome:
        """The payment's outcome once the answer is verified (told under `provider_ref`).
        Raises ValidationError for an answer that doesn't verify (a forged or tampered signature,
        another payment's transaction): refused, nothing recorded."""
        ...


class AmountRulesProvider(PaymentProvider, Protocol):
    """A provider with rules of its own about the amounts it takes (PayPal: only its currencies,
    HUF, JPY and TWD in whole units). Optional: a provider without `check_amount` takes any
    amount our Money can hold."""

    @property
    def currencies(self) -> frozenset[str] | None:
        """The ISO 4217 codes it takes (None: any); what a checkout UI offers with it."""
        ...

    def check_amount(self, amount: Money) -> None:
        """Raises ValidationError (field "amount") for an amount the provider can't be sent. A
        question about our own input, answered without a call: the use cases ask it before
        anything is recorded, so such an amount is refused with nothing written."""
        ...


def check_amount(provider: PaymentProvider, amount: Money) -> None:
    """Refuse (ValidationError) an amount `provider` can't take; nothing when it has no rules."""
    check = getattr(provider, "check_amount", None)
    if check is not None:
        check(amount)


def currencies_of(provider: PaymentProvider) -> frozenset[str] | None:
    """The currencies `provider` takes, None when it names none (it takes any)."""
    found = getattr(provider, "currencies", None)
    return frozenset(found) if found is not None else None


def checkout_kinds(provider: PaymentProvider) -> frozenset[CheckoutKind]:
    """The kinds of page a checkout provider offers (every kind unless it names them)."""
    kinds = getattr(provider, "checkout_kinds", None)
    return frozenset(kinds) if kinds is not None else frozenset(CheckoutKind)


class FindingProvider(PaymentProvider, Protocol):
    """A provider with Capability.FIND: it can tell what became of an authorization whose answer
    was lost (no provider reference is known then)."""

    async def find_authorization(self, req: FindRequest) -> Outcome | None:
        """What became of the request: the authorization's outcome as `fetch` answers it (with
        the provider's reference), Declined when the provider can tell it never got the request
        (an answer that must stay true: a late request under that key is refused the same way),
        None while it can't tell yet (ask again later)."""
        ...


class Providers(Mapping[str, PaymentProvider]):
    """The providers this process offers, by name; built once at start-up.

    An unknown name is a `NotFoundError`, like any other unknown id a client can send.
    """

    __slots__ = ("_by_name", "_public")

    def __init__(self, providers: Iterable[PaymentProvider],
                 public: Mapping[str, Mapping[str, str]] | None = None) -> None:
        by_name: dict[str, PaymentProvider] = {}
        for provider in providers:
            if provider.name in by_name:
                raise ValueError(f"two providers are named {provider.name!r}")
            by_name[provider.name] = provider
        self._by_name = by_name
        # What a client needs to use each provider (Stripe's publishable key…): public by design,
        # handed over one named value at a time by the composition root, never a secret.
        self._public = {name: dict(config) for name, config in (public or {}).items() if name in by_name}

    def __getitem__(self, name: str) -> PaymentProvider:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFoundError("provider", name) from None

    # Mapping's own `in` and `get` rely on KeyError, which `__getitem__` doesn't raise.
    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(  # type: ignore[override]
            self, name: str, default: PaymentProvider | None = None) -> PaymentProvider | None:
        return self._by_name.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def public_config(self, name: str) -> Mapping[str, str]:
        """The public values a client needs to pay with `name` (empty when it needs none)."""
        self[name]  # an unknown provider is a NotFoundError here too
        return dict(self._public.get(name, {}))

    def check_amount(self, name: str, amount: Money) -> None:
        """Refuse (ValidationError) an amount the named provider can't take, before anything is
        written: asked by every use case that records an attempt for `amount`."""
        check_amount(self[name], amount)

    def supporting(self, capability: Capability) -> tuple[str, ...]:
        return tuple(name for name, p in self._by_name.items() if capability in p.capabilities)

    def require(self, name: str, capability: Capability) -> PaymentProvider:
        """The named provider, refused as invalid input when it can't do `capability`."""
        provider = self[name]
        if capability not in provider.capabilities:
            raise ValidationError(f"provider {name!r} does not support {capability}", "provider")
        return provider
