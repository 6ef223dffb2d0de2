"""The ports the domain needs, as Protocols; db/ and providers/ implement them.

A UnitOfWork is one transaction: `async with uow:` opens it, `await uow.commit()` commits it,
and leaving the block without committing rolls everything back. `uow.jobs.defer(...)` enqueues a
background job in that same transaction: it exists once the transaction commits, never otherwise. `await uow.transaction(block)`
runs such a block and runs it again when the database aborted it to break a deadlock (the lock
order every use case follows is in db/uow.py); a block never calls a provider.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, Self, TypeVar
from uuid import UUID

from domain.catalog.model import Cart, Product
from domain.identity import Actor
from domain.ledger.journal import JournalEntry
from domain.notifications import Outbox
from domain.orders.model import Address, Order
from domain.payments.model import Payment

if TYPE_CHECKING:  # refund_requests' use cases import this module
    from domain.billing.model import Customer, Subscription
    from domain.disputes.model import Dispute
    from domain.marketplace.ports import MarketRepository
    from domain.outgoing_webhooks.delivery import AttemptLog, Claimed, Delivery, SendRequest, SendResult
    from domain.outgoing_webhooks.endpoints import Endpoint
    from domain.outgoing_webhooks.events import OutgoingEvent
    from domain.payments.external import WebhookEvent
    from domain.payments.refund_requests import RefundRequest
    from domain.risk.model import Assessment


T = TypeVar("T")


class ProductRepository(Protocol):
    async def get(self, product_id: int) -> Product | None: ...


class CartRepository(Protocol):
    async def get(self, user_id: int, *, lock_products: bool = False, now: datetime | None = None) -> Cart:
        """The cart; with `lock_products` its products stay locked (and their availability, as
        of `now`, is exact) until the transaction ends: what checkout reserves from."""
        ...

    async def with_product(self, user_id: int, product_id: int) -> tuple[Cart, Product | None]:
        """The cart, and one product whether in it or not (None: no such product)."""
        ...

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> None: ...

    async def clear(self, user_id: int) -> None: ...


class AddressRepository(Protocol):
    async def add(self, address: Address) -> Address: ...

    async def get(self, address_id: int) -> Address | None: ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> Order: ...

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None: ...

    async def get_by_uuid(self, order_uuid: UUID, *, for_update: bool = False) -> Order | None: ...

    async def pending_expired(self, now: datetime, limit: int) -> list[Order]: ...

    async def save(self, order: Order) -> None: ...


class StockRepository(Protocol):
    async def lock(self, product_ids: Sequence[int], now: datetime) -> dict[int, Product]: ...

    async def reserve(self, order: Order) -> None: ...

    async def commit(self, order: Order) -> None: ...

    async def restock(self, order: Order) -> None: ...

    async def release(self, order: Order) -> None: ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> Payment: ...

    async def save(self, payment: Payment) -> None: ...

    async def get(self, payment_id: int, *, for_update: bool = False, with_order: bool = False) -> Payment | None:
        """`with_order` (with `for_update`): the payment's order is locked with it, after it (the lock
        order), and this transaction's next `orders.get(order_id, for_update=True)` answers it."""
        ...

    async def for_order(self, order_id: int) -> list[Payment]: ...

    async def by_provider_ref(self, provider: str, provider_ref: str) -> Payment | None:
        """The payment the provider knows by this reference (the latest, should two share one)."""
        ...

    async def by_uuid(self, uuid: str) -> Payment | None: ...

    async def orphaned(self, providers: Sequence[str], limit: int) -> list[int]: ...

    async def abandoned(self, providers: Sequence[str], direct_before: datetime, limit: int) -> list[int]:
        """Payments waiting for the customer (requires_action) whose order is expired or canceled,
        or which pay no order and were created before `direct_before`."""
        ...

    async def claim_open_attempts(self, older_than: datetime, now: datetime, limit: int,
                                  providers: Sequence[str], *, pages_older_than: datetime | None = None,
                                  finding: Sequence[str] = ()) -> list[int]:
        """Payments (of these providers) with an attempt open and untouched since `older_than`
        (since `pages_older_than` for the authorization of a payment waiting for the customer on
        the provider's page or element); the claimed attempts count as touched at `now`, so no
        worker claims them again before the interval has passed. Workers claiming at once never
        get the same attempt. An authorization already unknown and without the provider's
        reference is claimed only at the `finding` providers (Capability.FIND): elsewhere nothing
        can be asked about it."""
        ...


class RefundRequestRepository(Protocol):
    async def add(self, request: RefundRequest) -> RefundRequest: ...

    async def get(self, request_id: int, *, for_update: bool = False) -> RefundRequest | None: ...

    async def save(self, request: RefundRequest) -> None: ...


class Ledger(Protocol):
    async def append(self, entry: JournalEntry) -> bool: ...

    async def family(self, capture_ref: str) -> list[JournalEntry]: ...


class AuditTrail(Protocol):
    async def record(self, actor: Actor | None, action: str, object_type: str, object_id: object,
                     before: Mapping[str, object] | None, after: Mapping[str, object] | None,
                     at: datetime) -> None: ...


class CustomerRepository(Protocol):
    """Billing customers (domain/billing)."""

    async def add(self, customer: Customer) -> Customer: ...

    async def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None: ...

    async def get_by_ref(self, provider: str, provider_ref: str) -> Customer | None: ...

    async def unsent(self, user_id: int) -> list[Customer]:
        """The user's customers the provider hasn't confirmed (no provider_ref yet)."""
        ...

    async def save(self, customer: Customer) -> None: ...

    async def forget_unsent(self, customer_id: int) -> None:
        """Remove the customer if the provider never confirmed it (it refused to create it)."""
        ...


class SubscriptionRepository(Protocol):
    """Billing subscriptions (domain/billing)."""

    async def add(self, subscription: Subscription) -> Subscription: ...

    async def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None: ...

    async def get_by_ref(self, provider: str, provider_ref: str, *,
                         for_update: bool = False) -> Subscription | None: ...

    async def get_by_uuid(self, uuid: UUID, *, for_update: bool = False) -> Subscription | None: ...

    async def unsent(self, customer_id: int) -> list[Subscription]:
        """The customer's subscriptions the provider hasn't confirmed (no provider_ref yet)."""
        ...

    async def save(self, subscription: Subscription) -> None: ...

    async def forget_unsent(self, subscription_id: int) -> None:
        """Remove the subscription if the provider never confirmed it (it refused to create it)."""
        ...


class DisputeRepository(Protocol):
    """Disputes (domain/disputes), one per (provider, provider_ref)."""

    async def add(self, dispute: Dispute) -> Dispute: ...

    async def get_by_ref(self, provider: str, provider_ref: str, *, for_update: bool = False) -> Dispute | None: ...

    async def save(self, dispute: Dispute) -> None: ...


class RiskAssessmentRepository(Protocol):
    """Risk assessments (domain/risk), stored with their payment; the latest one speaks for it."""

    async def add(self, assessment: Assessment) -> None:
        """Store a new assessment. Its id is not known until the transaction is sent: read it
        back with `latest` to change it."""

    async def latest(self, payment_id: int) -> Assessment | None: ...

    async def save(self, assessment: Assessment) -> None: ...


JobArgs = Mapping[str, str | int | bool | None]


class JobQueue(Protocol):
    """Background jobs, enqueued in the unit of work's own transaction (a transactional outbox):
    a rollback enqueues nothing, a commit never loses one. A worker (or, on SQLite, the serving
    process) runs each job at least once, retrying a failure with backoff; a job is therefore
    idempotent, and its arguments are ids (JSON scalars), never objects."""

    async def defer(self, name: str, args: JobArgs | None = None, *, key: str | None = None,
                    delay_s: float = 0) -> None:
        """Enqueue the job `name` (a registered job's name) with `args`, to run `delay_s` from now.
        With `key`, nothing is enqueued while a job with the same key waits or runs."""
        ...


class OutgoingEvents(Protocol):
    """The outbox of events for merchants' endpoints (domain/outgoing_webhooks/events.py),
    written in the transaction of the change they report."""

    async def record(self, event: OutgoingEvent) -> None: ...


class WebhookEndpointRepository(Protocol):
    async def add(self, endpoint: Endpoint) -> Endpoint: ...

    async def get(self, endpoint_id: int, *, for_update: bool = False) -> Endpoint | None: ...

    async def save(self, endpoint: Endpoint) -> None: ...

    async def delete(self, endpoint_id: int) -> None:
        """Remove the endpoint, its deliveries and their log."""
        ...


class WebhookDeliveryRepository(Protocol):
    async def fan_out(self, now: datetime, limit: int) -> int:
        """Make a pending delivery of each event written since the last fan-out for every enabled
        endpoint that wants its type, oldest events first; answer how many events were handled.
        Fan-outs never run at once (they would race on an object's order)."""
        ...

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        """Pending deliveries due by `now` to enabled endpoints, each the earliest still pending of
        its object for its endpoint; claimed until `lease_until` (their next attempt moves there),
        so no other worker claims them meanwhile. Workers claiming at once never get the same one."""
        ...

    async def get(self, delivery_id: int, *, for_update: bool = False) -> Delivery | None: ...

    async def save(self, delivery: Delivery, attempt: AttemptLog | None) -> None:
        """Write the delivery's state, and append the attempt to the delivery log."""
        ...

    async def purge(self, before: datetime, limit: int) -> int:
        """Remove up to `limit` finished deliveries (succeeded or failed) created before `before`,
        with their log, and the fanned-out events older than that which no delivery needs."""
        ...


class WebhookSender(Protocol):
    """Sends one signed delivery and reports what came back; never raises for the receiver's
    trouble (refused, timed out, 5xx are results)."""

    async def send(self, request: SendRequest) -> SendResult: ...


class UnitOfWork(Protocol):
    # Read-only (properties): an implementation holds its own repository classes, which a
    # protocol's plain, settable attribute would have to match exactly.
    @property
    def products(self) -> ProductRepository: ...

    @property
    def carts(self) -> CartRepository: ...

    @property
    def addresses(self) -> AddressRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def stock(self) -> StockRepository: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def refund_requests(self) -> RefundRequestRepository: ...

    @property
    def webhook_events(self) -> WebhookEventRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def disputes(self) -> DisputeRepository: ...

    @property
    def risk(self) -> RiskAssessmentRepository: ...

    @property
    def emails(self) -> Outbox: ...

    @property
    def jobs(self) -> JobQueue: ...

    @property
    def outgoing_events(self) -> OutgoingEvents: ...

    @property
    def webhook_endpoints(self) -> WebhookEndpointRepository: ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository: ...

    @property
    def market(self) -> MarketRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...

    async def transaction(self, block: Callable[[], Awaitable[T]]) -> T:
        """Run `block` (one `async with uow:` ... `commit()`, no provider call in it) and answer
        its result; when the database aborts it to break a deadlock or a serialization conflict,
        run it again from the start (bounded, after a short random wait)."""
        ...


class EventPublisher(Protocol):
    """Tells live subscribers that an object changed: topics like "payment:12", "order:7"."""

    async def publish(self, topic: str) -> None: ...


class WebhookEventRepository(Protocol):
    """Providers' events, stored by (provider, event_id) before they are acted on."""

    async def claim(self, event: WebhookEvent) -> WebhookEvent:
        """Store the event unless its (provider, event_id) is known, and lock it for this
        transaction; answer the stored one, whose state says whether it was acted on. A
        delivery racing another of the same event waits here until the first one ends."""
        ...

    async def save(self, event: WebhookEvent) -> None:
        """Write the event's state, detail and processed_at."""
        ...
