"""What each event's `data` says about its object: ids to find it by on either surface, its
status, its money. Card data never (at most brand and last 4 live on the payment, and even those
stay out); free text never (reasons are the customer's words, fetched through the API)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.outgoing_webhooks.events import money
from domain.payments.model import Attempt, Payment

if TYPE_CHECKING:
    from domain.billing.model import Subscription
    from domain.marketplace.model import PayoutRecord, TransferRecord
    from domain.orders.model import Order
    from domain.payments.refund_requests import RefundRequest


def payment_data(p: Payment) -> dict[str, Any]:
    return {"uuid": str(p.uuid), "number": p.number, "status": p.status.value, "provider": p.provider,
            "order_id": p.order_id, "amount": money(p.amount), "amount_captured": money(p.amount_captured),
            "amount_refunded": money(p.amount_refunded), "decline_code": p.decline_code}


def refund_data(p: Payment, refund: Attempt) -> dict[str, Any]:
    return {"status": refund.status.value, "payment_id": p.id, "payment_uuid": str(p.uuid),
            "amount": money(refund.amount), "decline_code": refund.decline_code}


def order_data(o: Order) -> dict[str, Any]:
    return {"uuid": str(o.uuid), "number": o.number, "status": o.status.value, "total": money(o.total)}


def refund_request_data(r: RefundRequest) -> dict[str, Any]:
    return {"uuid": str(r.uuid), "status": r.status.value, "payment_id": r.payment_id, "amount": money(r.amount),
            "refund_id": r.refund_attempt_id}


def subscription_data(s: Subscription) -> dict[str, Any]:
    return {"uuid": str(s.uuid), "status": s.status.value, "provider": s.provider, "provider_ref": s.provider_ref,
            "price_id": s.price_ref, "customer_id": s.customer_id}


def transfer_data(t: TransferRecord) -> dict[str, Any]:
    return {"uuid": str(t.uuid), "status": t.status.value, "seller_id": t.seller_id, "payment_uuid": t.payment_uuid,
            "order_id": t.order_id, "amount": money(t.amount), "netted_debt": money(t.netted_debt),
            "reversed": money(t.reversed), "provider": t.provider}


def payout_data(p: PayoutRecord) -> dict[str, Any]:
    return {"uuid": str(p.uuid), "status": p.status.value, "seller_id": p.seller_id, "amount": money(p.amount),
            "provider": p.provider, "failure_code": p.failure_code}
