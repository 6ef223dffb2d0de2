"""Razorpay's `payment.dispute.*` news (webhooks.dispute_news) as the disputes domain's news
(domain/disputes/service.py). A Razorpay dispute (https://razorpay.com/docs/api/disputes/) has a
`phase` (retrieval, chargeback, pre_arbitration, arbitration, fraud) and a `status`:

    open, phase retrieval        inquiry: the bank asks for information; nothing deducted
    open (payment.dispute.action_required)  evidence_due: our answer is awaited
    open (other phases)          opened: Razorpay deducts the disputed amount
    under_review                 under_review
    won / lost                   won / lost (accepting a dispute makes it lost)
    closed                       inquiry_closed: closed without a decision against us; anything
                                 withheld comes back

The disputed payment is known to us by its Razorpay order (our payments' reference).
"""
from __future__ import annotations

from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews
from domain.errors import ConflictError
from providers.razorpay.webhooks import DisputeNews as RazorpayDispute

PROVIDER = "razorpay"
NOT_OURS = "-"  # no order of ours: the use case stores the event as ignored

FINAL = {"won": DisputeStatus.WON, "lost": DisputeStatus.LOST, "closed": DisputeStatus.INQUIRY_CLOSED,
         "under_review": DisputeStatus.UNDER_REVIEW}


def status_of(news: RazorpayDispute) -> DisputeStatus:
    """ConflictError for a status we don't know (Razorpay redelivers, after a fix)."""
    if news.status in FINAL:
        return FINAL[news.status]
    if news.status != "open":
        raise ConflictError(f"Razorpay dispute {news.dispute_id} has a status we don't know: {news.status!r}")
    if news.phase == "retrieval":
        return DisputeStatus.INQUIRY
    if news.event_type == "payment.dispute.action_required":
        return DisputeStatus.EVIDENCE_DUE
    return DisputeStatus.OPENED


def dispute_news(news: RazorpayDispute) -> DisputeNews:
    if news.amount is None:
        raise ConflictError(f"Razorpay dispute {news.dispute_id} has no amount we can read")
    return DisputeNews(provider=PROVIDER, event_id=news.event_id, event_type=news.event_type,
                       provider_dispute_id=news.dispute_id, payment_ref=news.order_ref or NOT_OURS,
                       amount=news.amount, status=status_of(news), reason=news.reason_code or None)
