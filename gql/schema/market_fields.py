"""The marketplace's root fields and mutations (types in gql/schema/market.py)."""
from __future__ import annotations

from uuid import UUID

import strawberry

from domain.errors import PaymentsError, ValidationError
from domain.money import Money as DomainMoney
from gql.resolvers import market as resolvers
from gql.schema.errors import expected_error
from gql.schema.market import (
    AmountByStatus,
    BalanceDifference,
    ConnectedAccount,
    ConnectedAccountCreateInput,
    ConnectedAccountCreateResult,
    HoldReleaseInput,
    HoldReleaseResult,
    MarketplaceFilter,
    MarketplaceReport,
    OnboardingSession,
    OnboardingSessionCreateInput,
    OnboardingSessionCreateResult,
    OrderDelivered,
    OrderMarkDeliveredInput,
    OrderMarkDeliveredResult,
    PaymentTotals,
    Payout,
    PayoutInput,
    PayoutResult,
    SellerBalances,
    SellerHold,
    StatusCount,
    Transfer,
    TransferInput,
    TransferResult,
    TransferSuccess,
    _id,
)
from gql.schema.orders import Order
from gql.schema.relay import Connection, connection, global_id_of, page_request, to_global_id
from gql.schema.scalars import MinorUnits


async def resolve_connected_account(info: strawberry.Info, seller_id: strawberry.ID | None = None
                                    ) -> ConnectedAccount | None:
    """The caller's connected account; staff name a seller. Null when there is none (or not theirs)."""
    seller = global_id_of("User", seller_id) if seller_id is not None else None
    if seller_id is not None and seller is None:
        return None
    try:
        found = await resolvers.connected_account(info.context, seller)
    except PaymentsError:
        return None
    return ConnectedAccount.from_domain(found) if found else None


async def resolve_transfers(info: strawberry.Info, first: int | None = None, after: str | None = None
                            ) -> Connection[Transfer]:
    """Transfers, newest first: a seller's own; everyone's for staff."""
    req = page_request(first, after)
    try:
        rows, total = await resolvers.transfers_page(info.context, req.limit, req.after_id)
    except PaymentsError:
        return connection([], [], req, 0)
    return connection([Transfer.from_domain(t) for t in rows], [t.pk for t in rows], req, total)


async def resolve_payout(info: strawberry.Info, id: strawberry.ID | None = None, uuid: str | None = None
                         ) -> Payout | None:
    """A payout by global id or uuid; null when missing or another seller's."""
    try:
        if uuid is not None:
            found = await resolvers.payout_by_uuid(info.context, UUID(uuid))
        else:
            legacy = global_id_of("Payout", id) if id is not None else None
            found = await resolvers.payout_by_id(info.context, legacy) if legacy is not None else None
    except (ValueError, PaymentsError):
        return None
    return Payout.from_domain(found) if found else None


async def resolve_payouts(info: strawberry.Info, first: int | None = None, after: str | None = None,
                          filter: MarketplaceFilter | None = None) -> Connection[Payout]:
    """Payouts, newest first: a seller's own; everyone's for staff, with the admin filters."""
    req = page_request(first, after)
    try:
        flt = (filter or MarketplaceFilter()).to_domain()
        views, totals = await resolvers.payouts_page(info.context, flt, req.limit, req.after_id)
    except PaymentsError:
        return connection([], [], req, 0)
    return connection([Payout.from_domain(v.payout) for v in views], [v.payout.pk for v in views], req, totals.count)


async def resolve_marketplace_report(info: strawberry.Info, filter: MarketplaceFilter | None = None
                                     ) -> MarketplaceReport | None:
    """Admins: totals of payouts and payments under the filters, and sellers' balances from the ledger."""
    try:
        payouts, stats, balances, differences = await resolvers.report(info.context, (filter or MarketplaceFilter()).to_domain())
    except PaymentsError:
        return None
    return MarketplaceReport(
        payout_count=payouts.count,
        payouts=[AmountByStatus(currency=code, status=status, amount=MinorUnits(amount))
                 for code, by in sorted(payouts.by_currency.items()) for status, amount in sorted(by.items())],
        payment_count=stats.count,
        payments=[PaymentTotals(currency=code, amount=MinorUnits(t["amount"]), captured=MinorUnits(t["captured"]),
                                refunded=MinorUnits(t["refunded"])) for code, t in sorted(stats.by_currency.items())],
        payments_by_status=[StatusCount(status=s, count=n) for s, n in sorted(stats.by_status.items())],
        seller_balances=[SellerBalances(currency=code, **{k: MinorUnits(v) for k, v in b.items()})
                         for code, b in sorted(balances.items())],
        differences=[BalanceDifference(seller_id=strawberry.ID(to_global_id("User", d.seller_id)), currency=d.currency,
                                       ours=MinorUnits(d.ours_minor), theirs=MinorUnits(d.theirs_minor),
                                       found_at=d.found_at) for d in differences])


async def connected_account_create(info: strawberry.Info, input: ConnectedAccountCreateInput
                                   ) -> ConnectedAccountCreateResult:
    """Create the calling seller's connected account (or answer the one they have)."""
    try:
        found = await resolvers.create_account(info.context, input.country, input.business_type.value)
    except PaymentsError as exc:
        return expected_error(exc)
    return ConnectedAccount.from_domain(found)


async def onboarding_session_create(info: strawberry.Info, input: OnboardingSessionCreateInput | None = None
                                    ) -> OnboardingSessionCreateResult:
    """An onboarding session for the calling seller's account (embedded component or page)."""
    try:
        session = await resolvers.onboarding(info.context, input.return_url if input else None)
    except PaymentsError as exc:
        return expected_error(exc)
    return OnboardingSession(account_id=session.account_ref, client_secret=session.client_secret, url=session.url)


async def transfer(info: strawberry.Info, input: TransferInput) -> TransferResult:
    """Transfer a delivered payment's share to the calling seller (staff: every seller's)."""
    try:
        payment_uuid = await resolvers.payment_uuid(info.context, _id("Payment", input.payment_id))
        done = await resolvers.transfer(info.context, payment_uuid, input.transfer_group)
    except PaymentsError as exc:
        return expected_error(exc)
    return TransferSuccess(transfers=[Transfer.from_domain(t) for t in done])


async def payout(info: strawberry.Info, input: PayoutInput) -> PayoutResult:
    """Pay the calling seller's connected balance out; admins may name a seller and an amount."""
    try:
        code = input.currency.upper()
        amount = DomainMoney.of(input.amount, code) if input.amount is not None else None
        if amount is not None and amount.minor <= 0:
            raise ValidationError("amount must be positive", "amount")
        seller = _id("User", input.seller_id) if input.seller_id is not None else None
        done = await resolvers.payout(info.context, code, amount, seller, input.description)
    except PaymentsError as exc:
        return expected_error(exc)
    return Payout.from_domain(done)


async def order_mark_delivered(info: strawberry.Info, input: OrderMarkDeliveredInput) -> OrderMarkDeliveredResult:
    """A seller marks their lines of an order delivered; staff the whole order or one seller's lines."""
    try:
        seller = _id("User", input.seller_id) if input.seller_id is not None else None
        order, held = await resolvers.mark_delivered(info.context, _id("Order", input.order_id), seller)
    except PaymentsError as exc:
        return expected_error(exc)
    return OrderDelivered(order=Order.from_domain(order), holds=[SellerHold.from_domain(h) for h in held])


async def hold_release(info: strawberry.Info, input: HoldReleaseInput) -> HoldReleaseResult:
    """Staff release a seller's hold on a payment before its date."""
    try:
        payment = global_id_of("Payment", input.payment_id) or 0  # 0: no payment (the use case says so)
        seller = global_id_of("User", input.seller_id) or 0
        released = await resolvers.release_hold(info.context, payment, seller)
    except PaymentsError as exc:
        return expected_error(exc)
    return SellerHold.from_domain(released)


async def payout_node(context, legacy_id: int) -> Payout | None:
    found = await resolvers.payout_by_id(context, legacy_id)
    return Payout.from_domain(found) if found else None


async def transfer_node(context, legacy_id: int) -> Transfer | None:
    found = await resolvers.transfer_by_id(context, legacy_id)
    return Transfer.from_domain(found) if found else None
