"""Seed 000's marketplace JSON: what its Connect, holds, transfer and payout paths answer.

Amounts are integer minor units ("cents", as the seed's payout body is) beside a lower-case
currency, as Stripe shows them; times are ISO 8601 in UTC; objects are named by their UUIDs
(Stripe's own ids are shown beside them as `stripe_…_id`).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db.market_queries import (
    HoldView,
    PayoutOrderLine,
    PayoutTotals,
    PayoutView,
    TransactionStats,
    TransactionView,
)
from domain.marketplace.model import ConnectedAccount, PayoutRecord, TransferRecord
from domain.money import Money

JSONDict = dict[str, Any]


def when(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(amount: Money) -> JSONDict:
    return {"amount": amount.minor, "currency": amount.code.lower()}


def account_status(account: ConnectedAccount) -> str:
    if account.provider_ref is None:
        return "creating"
    if account.disabled_reason:
        return "restricted"
    if account.charges_enabled and account.payouts_enabled:
        return "active"
    return "onboarding"


def account(found: ConnectedAccount | None, *, is_seller: bool = True) -> JSONDict:
    if found is None:
        return {"has_account": False, "account_id": None, "status": None, "charges_enabled": False,
                "payouts_enabled": False, "details_submitted": False, "requirements": [],
                "eligibility": {"is_seller": is_seller, "can_create_account": is_seller,
                                "can_receive_transfers": False, "can_request_payouts": False}}
    return {"has_account": True, "account_id": found.provider_ref, "uuid": str(found.uuid),
            "status": account_status(found), "country": found.country, "business_type": found.business_type,
            "charges_enabled": found.charges_enabled, "payouts_enabled": found.payouts_enabled,
            "details_submitted": found.details_submitted, "requirements": list(found.requirements),
            "created_at": when(found.created_at),
            "eligibility": {"is_seller": True, "can_create_account": False, "can_receive_transfers": found.ready,
                            "can_request_payouts": found.ready}}


def account_status_flags(found: ConnectedAccount) -> JSONDict:
    return {"account_id": found.provider_ref, "status": account_status(found),
            "charges_enabled": found.charges_enabled, "payouts_enabled": found.payouts_enabled,
            "details_submitted": found.details_submitted,
            "requirements": {"currently_due": list(found.requirements), "disabled_reason": found.disabled_reason}}


def hold(view: HoldView) -> JSONDict:
    h = view.hold
    return {"transaction_id": h.payment_uuid, "transaction_number": view.payment_number, "order_id": view.order_uuid,
            "seller_id": h.seller_id, **money(h.amount), "status": h.status.value, "captured_at": when(h.captured_at),
            "delivered_at": when(h.delivered_at), "release_eta": when(h.releases_at), "released_at": when(h.released_at)}


def totals(by_currency: dict[str, dict[str, int]]) -> list[JSONDict]:
    return [{"currency": code.lower(), **amounts} for code, amounts in sorted(by_currency.items())]


def transfer(t: TransferRecord) -> JSONDict:
    return {"transfer_id": str(t.uuid), "stripe_transfer_id": t.provider_ref, "provider": t.provider,
            "transaction_id": t.payment_uuid, "seller_id": t.seller_id, **money(t.amount),
            "netted_debt": t.netted_debt.minor, "reversed": t.reversed.minor, "status": t.status.value,
            "transfer_group": t.transfer_group, "created_at": when(t.created_at)}


def payout_summary(p: PayoutRecord, *, seller_email: str | None = None, transfer_count: int | None = None) -> JSONDict:
    found = {"payout_id": str(p.uuid), "stripe_payout_id": p.provider_ref, "provider": p.provider,
             "seller_id": p.seller_id, **money(p.amount), "status": p.status.value, "description": p.description,
             "failure_code": p.failure_code, "created_at": when(p.created_at), "updated_at": when(p.updated_at)}
    if seller_email is not None:
        found["seller"] = {"id": p.seller_id, "email": seller_email}
    if transfer_count is not None:
        found["transfer_count"] = transfer_count
    return found


def payout_detail(p: PayoutRecord, items: list[TransferRecord]) -> JSONDict:
    transferred = sum(t.amount.minor - t.reversed.minor for t in items)
    return {**payout_summary(p, transfer_count=len(items)), "items": [transfer(t) for t in items],
            "totals": {"transfers": transferred, "payout": p.amount.minor, "currency": p.amount.code.lower()}}


def pagination(total: int, page_size: int, offset: int) -> JSONDict:
    return {"total": total, "page_size": page_size, "offset": offset, "has_more": offset + page_size < total}


def admin_payouts(views: list[PayoutView], found: PayoutTotals, page_size: int, offset: int) -> JSONDict:
    return {"payouts": [payout_summary(v.payout, seller_email=v.seller_email, transfer_count=v.transfer_count)
                        for v in views],
            "pagination": pagination(found.count, page_size, offset),
            "totals": {"count": found.count, "by_currency": totals(found.by_currency)}}


def transaction(v: TransactionView) -> JSONDict:
    p = v.payment
    return {"transaction_id": str(p.uuid), "number": p.number, "order_id": v.order_uuid, "order_number": v.order_number,
            "buyer": {"id": p.buyer_id, "email": v.buyer_email}, "provider": p.provider,
            "stripe_payment_intent_id": p.provider_ref, **money(p.amount), "captured": p.amount_captured.minor,
            "refunded": p.amount_refunded.minor, "status": p.status.value, "created_at": when(p.created_at)}


def admin_transactions(views: list[TransactionView], stats: TransactionStats, page_size: int, offset: int) -> JSONDict:
    return {"transactions": [transaction(v) for v in views], "pagination": pagination(stats.count, page_size, offset),
            "summary": {"count": stats.count, "by_status": stats.by_status, "by_currency": totals(stats.by_currency)}}


def payout_orders(p: PayoutRecord, lines: list[PayoutOrderLine]) -> JSONDict:
    orders: dict[str, JSONDict] = {}
    for line in lines:
        order = orders.setdefault(line.order_uuid, {"order_id": line.order_uuid, "number": line.order_number,
                                                    "items": [], "amount": 0, "currency": line.currency.lower()})
        total = line.unit_price_minor * line.quantity
        order["items"].append({"sku": line.sku, "name": line.name, "quantity": line.quantity,
                               "unit_price": line.unit_price_minor, "total": total})
        order["amount"] += total
    return {"payout_id": str(p.uuid), "orders": list(orders.values()), "count": len(orders),
            "total": sum(o["amount"] for o in orders.values())}
