"""The marketplace on GraphQL: sellers' connected accounts, transfers, payouts, delivery, holds
released early, and the admins' report whose totals are the ledger's.

Transfers and payouts are Nodes (global id, `legacyId`, `uuid`, as seed 000 names them by UUID).
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain.errors import NotFoundError
from domain.marketplace.access import MarketFilter
from domain.marketplace.model import ConnectedAccount as DomainAccount
from domain.marketplace.model import HoldRecord, PayoutRecord, TransferRecord
from gql.resolvers import market as resolvers
from gql.schema.errors import result
from gql.schema.money import Money
from gql.schema.orders import Order
from gql.schema.relay import Node, global_id_of, to_global_id
from gql.schema.scalars import MinorUnits
from gql.schema.statistics import StatusCount


def _user(user_id: int) -> strawberry.ID:
    return strawberry.ID(to_global_id("User", user_id))


def _id(kind: str, global_id: strawberry.ID) -> int:
    found = global_id_of(kind, global_id)
    if found is None:
        raise NotFoundError(kind.lower(), global_id)
    return found


@strawberry.enum
class BusinessType(Enum):
    INDIVIDUAL = "individual"
    COMPANY = "company"


@strawberry.type(description="A seller's account at the Connect provider (Stripe, or the dummy gateway).")
class ConnectedAccount:
    seller_id: strawberry.ID
    uuid: str
    provider: str
    provider_ref: str | None
    country: str
    business_type: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str] = strawberry.field(description="What the provider still needs (currently due).")
    created_at: datetime

    @classmethod
    def from_domain(cls, a: DomainAccount) -> ConnectedAccount:
        return cls(seller_id=_user(a.seller_id), uuid=str(a.uuid), provider=a.provider, provider_ref=a.provider_ref,
                   country=a.country, business_type=a.business_type, charges_enabled=a.charges_enabled,
                   payouts_enabled=a.payouts_enabled, details_submitted=a.details_submitted,
                   requirements=list(a.requirements), created_at=a.created_at)


@strawberry.type(description="Embedded onboarding: the client secret for the provider's component, or a page.")
class OnboardingSession:
    account_id: str
    client_secret: str
    url: str | None


@strawberry.type(description="A seller's share of one payment moved to their connected account.")
class Transfer(Node):
    legacy_id: int
    uuid: str
    seller_id: strawberry.ID
    payment_uuid: str
    amount: Money
    netted_debt: Money = strawberry.field(description="What the seller owed and this transfer kept back.")
    reversed: Money = strawberry.field(description="Clawed back since (a refund after the transfer).")
    status: str
    provider_ref: str | None
    transfer_group: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, t: TransferRecord) -> Transfer:
        return cls(id=strawberry.ID(to_global_id("Transfer", t.pk)), legacy_id=t.pk, uuid=str(t.uuid),
                   seller_id=_user(t.seller_id), payment_uuid=t.payment_uuid, amount=Money.from_domain(t.amount),
                   netted_debt=Money.from_domain(t.netted_debt), reversed=Money.from_domain(t.reversed),
                   status=t.status.value, provider_ref=t.provider_ref, transfer_group=t.transfer_group,
                   created_at=t.created_at)


@strawberry.type(description="A seller's connected balance sent to their bank.")
class Payout(Node):
    legacy_id: int
    uuid: str
    seller_id: strawberry.ID
    amount: Money
    status: str
    provider_ref: str | None
    description: str
    failure_code: str | None
    created_at: datetime

    @strawberry.field(description="The transfers this payout paid out.")
    async def transfers(self, info: strawberry.Info) -> list[Transfer]:
        return [Transfer.from_domain(t) for t in await resolvers.transfers_of(info.context, self.legacy_id)]

    @classmethod
    def from_domain(cls, p: PayoutRecord) -> Payout:
        return cls(id=strawberry.ID(to_global_id("Payout", p.pk)), legacy_id=p.pk, uuid=str(p.uuid),
                   seller_id=_user(p.seller_id), amount=Money.from_domain(p.amount), status=p.status.value,
                   provider_ref=p.provider_ref, description=p.description, failure_code=p.failure_code,
                   created_at=p.created_at)


@strawberry.type(description="One seller's share of one payment, held until delivery plus HOLD_DAYS.")
class SellerHold:
    payment_uuid: str
    seller_id: strawberry.ID
    amount: Money
    status: str
    delivered_at: datetime | None
    releases_at: datetime | None
    released_at: datetime | None

    @classmethod
    def from_domain(cls, h: HoldRecord) -> SellerHold:
        return cls(payment_uuid=h.payment_uuid, seller_id=_user(h.seller_id), amount=Money.from_domain(h.amount),
                   status=h.status.value, delivered_at=h.delivered_at, releases_at=h.releases_at,
                   released_at=h.released_at)


@strawberry.type
class TransferSuccess:
    transfers: list[Transfer]


@strawberry.type
class OrderDelivered:
    order: Order
    holds: list[SellerHold]


@strawberry.type
class AmountByStatus:
    currency: str
    status: str
    amount: MinorUnits


@strawberry.type
class PaymentTotals:
    currency: str
    amount: MinorUnits
    captured: MinorUnits
    refunded: MinorUnits


@strawberry.type(description="Sellers' money per currency, from the ledger: held, available (negative: debt), "
                             "transferred, in transit, paid out.")
class SellerBalances:
    currency: str
    held: MinorUnits
    available: MinorUnits
    transferred: MinorUnits
    in_transit: MinorUnits
    paid_out: MinorUnits


@strawberry.type(description="What reconciliation found: our ledger and the provider disagree on a connected "
                             "account's balance (the worker's reconcile-sellers job).")
class BalanceDifference:
    seller_id: strawberry.ID
    currency: str
    ours: MinorUnits
    theirs: MinorUnits
    found_at: datetime


@strawberry.type(description="The admins' marketplace report: payouts and payments with the filters applied.")
class MarketplaceReport:
    payout_count: int
    payouts: list[AmountByStatus]
    payment_count: int
    payments: list[PaymentTotals]
    payments_by_status: list[StatusCount]
    seller_balances: list[SellerBalances]
    differences: list[BalanceDifference] = strawberry.field(description="The latest 20, newest first.")


@strawberry.input
class MarketplaceFilter:
    status: str | None = None
    seller_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    search: str | None = None

    def to_domain(self) -> MarketFilter:
        seller = _id("User", self.seller_id) if self.seller_id is not None else None
        buyer = _id("User", self.buyer_id) if self.buyer_id is not None else None
        return MarketFilter(self.status, seller, buyer, self.created_from, self.created_to, self.search)


@strawberry.input
class ConnectedAccountCreateInput:
    country: str = "US"
    business_type: BusinessType = BusinessType.INDIVIDUAL


@strawberry.input
class OnboardingSessionCreateInput:
    return_url: str | None = None


@strawberry.input
class TransferInput:
    payment_id: strawberry.ID
    transfer_group: str | None = None


@strawberry.input
class PayoutInput:
    currency: str = "USD"
    amount: MinorUnits | None = strawberry.field(default=None, description="Admins only; everything payable if null.")
    seller_id: strawberry.ID | None = strawberry.field(default=None, description="Admins only.")
    description: str = ""


@strawberry.input
class OrderMarkDeliveredInput:
    order_id: strawberry.ID
    seller_id: strawberry.ID | None = strawberry.field(default=None, description="Staff: one seller's lines.")


@strawberry.input
class HoldReleaseInput:
    payment_id: strawberry.ID
    seller_id: strawberry.ID


ConnectedAccountCreateResult = result("ConnectedAccountCreateResult", ConnectedAccount)
OnboardingSessionCreateResult = result("OnboardingSessionCreateResult", OnboardingSession)
TransferResult = result("TransferResult", TransferSuccess)
PayoutResult = result("PayoutResult", Payout)
OrderMarkDeliveredResult = result("OrderMarkDeliveredResult", OrderDelivered)
HoldReleaseResult = result("HoldReleaseResult", SellerHold)
