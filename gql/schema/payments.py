"""Payments, their attempts, refunds and refund requests as clients see them."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from domain.errors import NotFoundError
from domain.numbers import attempt_uuid, refund_number
from domain.orders.model import Order as DomainOrder
from domain.payments.model import Attempt as DomainAttempt
from domain.payments.model import Payment as DomainPayment
from domain.payments.refund_requests import RefundRequest as DomainRefundRequest
from domain.payments.refund_requests import RequestStatus
from domain.payments.status import AttemptKind, AttemptStatus, DisplayStatus, PaymentStatus
from domain.stored import stored
from domain.users import User as DomainUser
from gql.resolvers import disputes as dispute_resolvers
from gql.resolvers import payment_queries as payment_resolvers
from gql.resolvers import risk as risk_resolvers
from gql.schema.disputes import Dispute
from gql.schema.money import Money
from gql.schema.orders import Order
from gql.schema.relay import Node, to_global_id
from gql.schema.risk import RiskAssessment
from gql.schema.users import User

# GraphQL's copies of the domain's enums (strawberry.enum would mark the domain's own classes). mypy
# can't read an enum built by a call as a type: it is told the domain enum, whose members and values
# the copy has one for one.
if TYPE_CHECKING:
    PaymentStatusEnum = PaymentStatus
    DisplayStatusEnum = DisplayStatus
    AttemptKindEnum = AttemptKind
    AttemptStatusEnum = AttemptStatus
    RefundRequestStatusEnum = RequestStatus
else:
    def _enum(name: str, source: type[Enum], description: str) -> type[Enum]:
        return strawberry.enum(Enum(name, {m.name: m.value for m in source}), description=description)

    PaymentStatusEnum = _enum("PaymentStatus", PaymentStatus, "Where a payment is in its life, like Stripe's "
                              "PaymentIntent; it never moves back.")
    DisplayStatusEnum = _enum("PaymentDisplayStatus", DisplayStatus,
                              "The status, or how much of a succeeded payment was refunded.")
    AttemptKindEnum = _enum("PaymentAttemptKind", AttemptKind, "What a call to the provider asked for.")
    AttemptStatusEnum = _enum("PaymentAttemptStatus", AttemptStatus,
                              "UNKNOWN: the call got no answer; it is settled later by asking the provider.")
    RefundRequestStatusEnum = _enum("RefundRequestStatus", RequestStatus, "A customer's refund request's state.")


@strawberry.enum
class CaptureMethodEnum(Enum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


@strawberry.type
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@strawberry.type(description="One call to the provider, with its outcome.")
class PaymentAttempt:
    seq: int
    kind: AttemptKindEnum
    status: AttemptStatusEnum
    amount: Money
    decline_code: str | None
    provider_ref: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, a: DomainAttempt) -> PaymentAttempt:
        return cls(seq=a.seq, kind=AttemptKindEnum(a.kind.value), status=AttemptStatusEnum(a.status.value),
                   amount=Money.from_domain(a.amount), decline_code=a.decline_code, provider_ref=a.provider_ref,
                   created_at=a.created_at, updated_at=a.updated_at)


@strawberry.type(description="Money returned to the buyer: a refund attempt of a payment.")
class Refund(Node):
    legacy_id: int
    uuid: str
    number: str
    payment_id: strawberry.ID
    amount: Money
    status: AttemptStatusEnum
    reason: str | None
    provider_ref: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, payment: DomainPayment, a: DomainAttempt) -> Refund:
        return _RefundOf(payment, a)


class _RefundOf(Refund):
    """A Refund whose fields are derived from the domain objects when a query reads them (the
    global ids and the attempt's UUID cost more than most queries read): see `_PaymentOf`."""

    def __init__(self, payment: DomainPayment, a: DomainAttempt) -> None:
        self._payment, self._attempt = payment, a
        self.legacy_id = a.pk
        self.reason, self.provider_ref = a.reason, a.provider_ref
        self.created_at, self.updated_at = a.created_at, a.updated_at

    @property
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Refund", self.legacy_id))

    @property
    def uuid(self) -> str:  # type: ignore[override]
        return str(attempt_uuid(self._payment.uuid, self._attempt.seq))

    @property
    def number(self) -> str:  # type: ignore[override]
        return refund_number(self.legacy_id)

    @property
    def payment_id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Payment", self._payment.pk))

    @property
    def amount(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self._attempt.amount)

    @property
    def status(self) -> AttemptStatusEnum:  # type: ignore[override]
        return AttemptStatusEnum(self._attempt.status.value)


NOT_FETCHED = object()  # a relation a list didn't read: its resolver loads it


def _is_payer(info: strawberry.Info, payment: DomainPayment) -> bool:
    # A client secret lets its holder complete the payment: it is the paying customer's alone.
    actor = info.context.actor
    return actor is not None and actor.user_id == payment.buyer_id


@strawberry.type
class Payment(Node):
    legacy_id: int
    uuid: str
    number: str
    order_id: strawberry.ID | None = strawberry.field(description="Null for a direct payment, which pays no order.")
    order_legacy_id: int | None
    buyer_id: strawberry.ID
    provider: str
    capture_method: CaptureMethodEnum
    status: PaymentStatusEnum
    display_status: DisplayStatusEnum
    amount: Money
    amount_authorized: Money
    amount_captured: Money
    amount_refunded: Money
    amount_refundable: Money
    amount_disputed: Money = strawberry.field(description="Withheld by disputes open or lost: not refundable.")
    card: Card | None
    checkout: str | None = strawberry.field(
        description="How the customer completes a payment opened at the provider (elements, hosted, embedded).")
    decline_code: str | None
    decline_message: str | None
    attempts: list[PaymentAttempt]
    refunds: list[Refund]
    created_at: datetime
    updated_at: datetime
    domain: strawberry.Private[DomainPayment]

    # Set by a list that read its payments' orders and buyers in batches (`with_relations`): the
    # fields then answer from them without a coroutine each. Unset, they go through the loaders.
    fetched_order: strawberry.Private[object] = NOT_FETCHED
    fetched_buyer: strawberry.Private[object] = NOT_FETCHED

    # Sync resolvers that answer at once from what a list fetched, or hand graphql-core an
    # awaitable (the loader) otherwise: inside a list of 100, an async resolver is a task each.
    @strawberry.field(description="The order this payment pays; null for a direct payment (seed 002's "
                                  "PaymentIntents for an amount).")
    def order(self, info: strawberry.Info) -> Order | None:
        if self.domain.order_id is None:
            return None
        if self.fetched_order is NOT_FETCHED:
            return self._load_order(info)  # type: ignore[return-value]
        return self._order_field(payment_resolvers.visible_order(info.context, self.fetched_order))  # type: ignore[arg-type]

    async def _load_order(self, info: strawberry.Info) -> Order | None:
        return self._order_field(await payment_resolvers.payment_order(info.context, self.domain))

    def _order_field(self, found: DomainOrder | None) -> Order:
        if found is None:  # whoever may see a payment may see its order: this is a bug
            raise NotFoundError("order", self.domain.order_id)
        return Order.from_domain(found)

    @strawberry.field(description="For the buyer's client to finish 3-D Secure, or to pay in the provider's "
                                  "element or embedded page; null for anyone else (sellers and staff too).")
    def client_secret(self, info: strawberry.Info) -> str | None:
        return self.domain.client_secret if _is_payer(info, self.domain) else None

    @strawberry.field(description="The provider's page where the buyer pays or acts; null for anyone else.")
    def redirect_url(self, info: strawberry.Info) -> str | None:
        return self.domain.redirect_url if _is_payer(info, self.domain) else None

    @strawberry.field(description="Disputes (chargebacks, inquiries) of this payment, oldest first. Staff "
                                  "only: empty for anyone else.")
    async def disputes(self, info: strawberry.Info) -> list[Dispute]:
        return [Dispute.from_domain(d) for d in await dispute_resolvers.payment_disputes(info.context, self.domain)]

    @strawberry.field(description="The risk checks' latest assessment of this payment. Staff only: null for "
                                  "anyone else.")
    async def risk_assessment(self, info: strawberry.Info) -> RiskAssessment | None:
        found = await risk_resolvers.latest_assessment(info.context, self.domain)
        return RiskAssessment.from_domain(found) if found else None

    @strawberry.field(description="The buyer, for the buyer and staff; null for sellers.")
    def buyer(self, info: strawberry.Info) -> User | None:
        if not payment_resolvers.may_see_buyer(info.context, self.domain):
            return None
        if self.fetched_buyer is NOT_FETCHED:
            return self._load_buyer(info)  # type: ignore[return-value]
        return User.from_domain(self.fetched_buyer) if self.fetched_buyer else None  # type: ignore[arg-type]

    async def _load_buyer(self, info: strawberry.Info) -> User | None:
        found = await payment_resolvers.payment_buyer(info.context, self.domain)
        return User.from_domain(found) if found else None

    def with_relations(self, orders: Mapping[int, DomainOrder] | None,
                       buyers: Mapping[int, DomainUser] | None) -> Payment:
        """Answer `order` and `buyer` from a list's batches (None: not read, the loaders answer);
        an id missing from a batch answers as a missing row does."""
        if orders is not None:
            self.fetched_order = orders.get(self.domain.order_id)  # type: ignore[arg-type]
        if buyers is not None:
            self.fetched_buyer = buyers.get(self.domain.buyer_id)
        return self

    @classmethod
    def from_domain(cls, p: DomainPayment) -> Payment:
        return _PaymentOf(p)


class _PaymentOf(Payment):
    """A Payment whose fields are derived from the domain payment when a query reads them.

    Building every field up front (six Money, three global ids, the attempts and refunds with
    theirs) was a measurable part of a page whose query reads a third of them. The GraphQL fields
    stay plain (resolved by attribute: properties here, no resolvers), so the schema, and what a
    field answers, are unchanged. Not registered with Strawberry: the fields' type is `Payment`,
    and this is one.
    """

    def __init__(self, p: DomainPayment) -> None:
        self.domain = p
        self.legacy_id = p.pk
        self.order_legacy_id = p.order_id
        self.provider = p.provider
        self.decline_code, self.decline_message = p.decline_code, p.decline_message
        self.created_at, self.updated_at = p.created_at, p.updated_at

    @property
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Payment", self.legacy_id))

    @property
    def uuid(self) -> str:  # type: ignore[override]
        return str(self.domain.uuid)

    @property
    def number(self) -> str:  # type: ignore[override]
        return stored("payment number", self.domain.number)

    @property
    def order_id(self) -> strawberry.ID | None:  # type: ignore[override]
        order_id = self.domain.order_id
        return strawberry.ID(to_global_id("Order", order_id)) if order_id is not None else None

    @property
    def buyer_id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("User", self.domain.buyer_id))

    @property
    def capture_method(self) -> CaptureMethodEnum:  # type: ignore[override]
        return CaptureMethodEnum(self.domain.capture_method.value)

    @property
    def status(self) -> PaymentStatusEnum:  # type: ignore[override]
        return PaymentStatusEnum(self.domain.status.value)

    @property
    def display_status(self) -> DisplayStatusEnum:  # type: ignore[override]
        return DisplayStatusEnum(self.domain.display_status.value)

    @property
    def amount(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.amount)

    @property
    def amount_authorized(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.amount_authorized)

    @property
    def amount_captured(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.amount_captured)

    @property
    def amount_refunded(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.amount_refunded)

    @property
    def amount_refundable(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.amount_refundable)

    @property
    def amount_disputed(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.disputed)

    @property
    def card(self) -> Card | None:  # type: ignore[override]
        card = self.domain.card
        return Card(brand=card.brand.value, last4=card.last4, exp_month=card.exp_month,
                    exp_year=card.exp_year) if card else None

    @property
    def checkout(self) -> str | None:  # type: ignore[override]
        return self.domain.checkout.value if self.domain.checkout else None

    @property
    def attempts(self) -> list[PaymentAttempt]:  # type: ignore[override]
        return [PaymentAttempt.from_domain(a) for a in self.domain.attempts]

    @property
    def refunds(self) -> list[Refund]:  # type: ignore[override]
        p = self.domain
        return [Refund.from_domain(p, a) for a in p.attempts if a.kind is AttemptKind.REFUND]


@strawberry.type(description="A customer's request for a refund, for staff to approve or reject.")
class RefundRequest(Node):
    legacy_id: int
    uuid: str
    payment_id: strawberry.ID
    amount: Money
    reason: str
    status: RefundRequestStatusEnum
    decision_note: str | None
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def from_domain(cls, r: DomainRefundRequest) -> RefundRequest:
        return cls(id=strawberry.ID(to_global_id("RefundRequest", r.pk)), legacy_id=r.pk, uuid=str(r.uuid),
                   payment_id=strawberry.ID(to_global_id("Payment", r.payment_id)), amount=Money.from_domain(r.amount),
                   reason=r.reason, status=RefundRequestStatusEnum(r.status.value), decision_note=r.decision_note,
                   created_at=r.created_at, decided_at=r.decided_at)
