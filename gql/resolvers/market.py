"""The marketplace on GraphQL: thin calls into domain/marketplace with the request's services,
and db/market_queries' reads. Who may do what is the use cases' (and domain/marketplace/access)."""
from __future__ import annotations

from uuid import UUID

from db import market_queries as queries
from domain.errors import InvalidStateError, NotFoundError, PaymentsError
from domain.marketplace import accounts, holds, payouts, transfers
from domain.marketplace.access import MarketFilter, Page, admins_only, seller_scope, visible_payout
from domain.marketplace.connect import ConnectProvider, OnboardingSession
from domain.marketplace.model import ConnectedAccount, HoldRecord, PayoutRecord, TransferRecord
from domain.money import Money
from domain.orders.model import Order
from gql.resolvers.auth import require_actor


def _connect(context) -> ConnectProvider:
    found = context.services.connect
    if found is None:
        raise InvalidStateError("Connect is not available on this server (neither Stripe nor the dummy gateway)")
    return found


async def connected_account(context, seller_id: int | None) -> ConnectedAccount | None:
    actor = require_actor(context)
    scope = seller_scope(actor)
    wanted = seller_id if scope is None and seller_id is not None else actor.user_id
    if scope is not None and seller_id is not None and seller_id != scope:
        return None  # another seller's account: as if it didn't exist
    return await queries.account_of(context.db, wanted)


async def create_account(context, country: str, business_type: str) -> ConnectedAccount:
    actor = require_actor(context)
    cmd = accounts.CreateAccount(actor, country, business_type)
    found, _ = await accounts.create_account(cmd, context.new_uow(), _connect(context), context.services.clock())
    return found


async def onboarding(context, return_url: str | None) -> OnboardingSession:
    actor = require_actor(context)
    return await accounts.onboarding_session(actor, context.new_uow(), _connect(context), return_url=return_url)


async def transfer(context, payment_uuid: str, group: str | None) -> list[TransferRecord]:
    actor = require_actor(context)
    svc = context.services
    return await transfers.transfer_payment(transfers.RequestTransfer(actor, payment_uuid, group), svc.uow(),
                                            _connect(context), svc.policy.hold_period, svc.clock())


async def payout(context, currency: str, amount: Money | None, seller_id: int | None,
                 description: str) -> PayoutRecord:
    actor = require_actor(context)
    cmd = payouts.RequestPayout(actor, currency, amount, seller_id, description)
    return await payouts.create_payout(cmd, context.new_uow(), _connect(context), context.services.clock())


async def mark_delivered(context, order_id: int, seller_id: int | None) -> tuple[Order, list[HoldRecord]]:
    actor = require_actor(context)
    svc = context.services
    order = await holds.mark_delivered(holds.MarkDelivered(actor, order_id, seller_id), svc.uow(),
                                       svc.policy.hold_period, svc.clock())
    return order, [v.hold for v in await queries.holds_of_order(context.db, order.pk)]


async def release_hold(context, payment_id: int, seller_id: int) -> HoldRecord:
    actor = require_actor(context)
    svc = context.services
    return await holds.release_early(holds.ReleaseEarly(actor, payment_id, seller_id), svc.uow(),
                                     svc.policy.hold_period, svc.clock())


async def payout_by_id(context, payout_id: int) -> PayoutRecord | None:
    actor = require_actor(context)
    found = await queries.payout_by_uuid(context.db, payout_id=payout_id)
    try:
        return visible_payout(actor, found, payout_id)
    except PaymentsError:  # another seller's, or a buyer asking: as if missing
        return None


async def payout_by_uuid(context, payout_uuid: UUID) -> PayoutRecord | None:
    actor = require_actor(context)
    found = await queries.payout_by_uuid(context.db, payout_uuid)
    try:
        return visible_payout(actor, found, payout_uuid)
    except PaymentsError:
        return None


async def payouts_page(context, flt: MarketFilter, limit: int, before_id: int | None
                       ) -> tuple[list[queries.PayoutView], queries.PayoutTotals]:
    scope = seller_scope(require_actor(context))
    return await queries.payouts_page(context.db, scope, flt, Page(limit=max(limit, 1), peek=True), before_id)


async def transfers_page(context, limit: int, before_id: int | None) -> tuple[list[TransferRecord], int]:
    scope = seller_scope(require_actor(context))
    return await queries.transfers_page(context.db, scope, Page(limit=max(limit, 1), peek=True), before_id)


async def transfers_of(context, payout_id: int) -> list[TransferRecord]:
    found: list[TransferRecord] = await context.loaders.transfers_by_payout.load(payout_id)
    return found


async def report(context, flt: MarketFilter):
    admins_only(require_actor(context))
    _, payout_totals = await queries.payouts_page(context.db, None, flt, Page(limit=1))
    _, stats = await queries.transactions_page(context.db, flt, Page(limit=1))
    balances = await queries.seller_balances(context.db, flt.seller_id)
    differences = await queries.latest_differences(context.db, flt.seller_id)
    return payout_totals, stats, balances, differences


async def payment_uuid(context, payment_id: int) -> str:
    """The payment's uuid (the marketplace names payments by it); who may act is the use case's."""
    from db.payment_queries import payments_by_ids

    found = (await payments_by_ids(context.db, [payment_id])).get(payment_id)
    if found is None:
        raise NotFoundError("payment", payment_id)
    return str(found.uuid)


async def transfer_by_id(context, transfer_id: int) -> TransferRecord | None:
    """A transfer the caller may see (its seller's, or staff); None otherwise."""
    actor = require_actor(context)
    found = await queries.transfer_by_id(context.db, transfer_id)
    try:
        scope = seller_scope(actor)
    except PaymentsError:
        return None
    return found if found is not None and (scope is None or scope == found.seller_id) else None
