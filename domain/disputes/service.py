"""`record_dispute`: a provider's news about a dispute, acted on once and never backwards. Every
provider's webhook reads its own events into `DisputeNews` (Stripe's `charge.dispute.*`,
PayPal's `CUSTOMER.DISPUTE.*`, Razorpay's `payment.dispute.*`) and calls this one use case.

    event already processed or ignored    acknowledged again; nothing changes
    no payment of ours by that reference  stored as ignored, with the reason
    a payment never captured              stored as ignored: no money of it can be disputed
    stale status (model.RANK)             stored as ignored: nothing moves back
    otherwise                             the dispute is created or advanced, and the ledger
                                          follows its status (below), all in one transaction

Ledger, each step once (the journal's unique kind and ref):
    withholding status (opened, evidence due, under review, lost), nothing taken yet
                          `dispute`: the amount taken from the shares into `disputes`; the
                          payment's `amount_disputed` counts what the shares gave
    won, or an inquiry closed after money was taken
                          `dispute_reinstated`: given back; refundable again
    lost                  `dispute_lost`: moved to chargebacks; then `LostDisputes.lost` runs in
                          the same transaction (by default the marketplace's `LostDisputeDebts`:
                          a seller whose share had left the hold owes their part)
    won or lost           a hold the dispute had taken whole is due for release again
                          (domain/marketplace/holds.py `rearm_after_dispute`)

Atomic like every provider event (domain/payments/external.py `act_once`): the event row is
claimed, then the payment locked (the lock order of db/uow.py), the dispute created or locked,
and everything commits together; a redelivery, or twenty at once, changes it once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.clock import Clock, utc_now
from domain.disputes.model import Dispute, DisputeStatus
from domain.errors import ConflictError
from domain.ledger import (
    EntryKind,
    JournalEntry,
    capture_ref,
    capture_view,
    dispute_entry,
    dispute_lost_entry,
    dispute_ref,
    dispute_reinstated_entry,
    taken_from_shares,
)
from domain.marketplace.debt import LostDisputeDebts
from domain.marketplace.holds import rearm_after_dispute
from domain.money import Money
from domain.payments.external import EventReceipt, WebhookEvent, act_once
from domain.payments.model import Payment
from domain.ports import UnitOfWork
from domain.text import redact_card_numbers

MAX_REASON = 100  # disputes.reason


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeNews:
    provider: str                      # our name for the provider: "stripe", "paypal", "razorpay"
    event_id: str                      # the provider's event id: the idempotency key
    event_type: str
    provider_dispute_id: str           # the provider's id of the dispute
    payment_ref: str                   # the disputed payment as the provider knows it (Payment.provider_ref)
    amount: Money                      # what is disputed, in the payment's currency
    status: DisputeStatus              # the provider's status, mapped by its adapter
    reason: str | None = None          # the bank's reason, as the provider names it
    evidence_due_by: datetime | None = None

    def event(self, now: datetime) -> WebhookEvent:
        return WebhookEvent(provider=self.provider, event_id=self.event_id, event_type=self.event_type,
                            object_ref=self.provider_dispute_id, received_at=now)


class LostDisputes(Protocol):
    """What else happens when a dispute is lost, inside the same transaction (the payment locked).

    The seam for the marketplace: the sellers' parts of a lost dispute stay taken (the `dispute`
    entry took them out of the hold, or out of available money once released, which may then go
    negative). A seller already paid out owes that money; recording it as their debt (an entry
    from available to a debt account, a claim on their next payout) belongs to the marketplace.
    `lost` gets the dispute, its payment and the `dispute` entry that says who gave what."""

    async def lost(self, dispute: Dispute, payment: Payment, taken: JournalEntry, uow: UnitOfWork,
                   now: datetime) -> None: ...


class NothingMore:
    """Nothing more than the ledger: a lost dispute's negative available balance stands as it is
    (the default is the marketplace's LostDisputeDebts, which also audits the debt)."""

    async def lost(self, dispute: Dispute, payment: Payment, taken: JournalEntry, uow: UnitOfWork,
                   now: datetime) -> None:
        return None


async def record_dispute(news: DisputeNews, uow: UnitOfWork, clock: Clock = utc_now, *,
                         on_lost: LostDisputes | None = None) -> EventReceipt:
    """Act on the news once; see the module's table. Raises what refused it (kept as failed)."""
    now = clock()
    losses = on_lost or LostDisputeDebts()

    async def act() -> tuple[Payment | None, str | None]:
        found = await uow.payments.by_provider_ref(news.provider, news.payment_ref)
        if found is None:
            return None, f"no {news.provider} payment of ours is {news.payment_ref}"
        payment = await uow.payments.get(found.pk, for_update=True)
        if payment is None:
            return None, f"no {news.provider} payment of ours is {news.payment_ref}"
        return payment, await _apply(news, payment, uow, losses, now)

    async def already() -> Payment | None:  # inside act_once's transaction
        return await uow.payments.by_provider_ref(news.provider, news.payment_ref)

    return await act_once(news.event(now), uow, now, act=act, on_duplicate=already)


async def _apply(news: DisputeNews, payment: Payment, uow: UnitOfWork, losses: LostDisputes,
                 now: datetime) -> str | None:
    if news.amount.currency is not payment.amount.currency:
        raise ConflictError(f"dispute {news.provider_dispute_id} is in {news.amount.code}, "
                            f"payment {payment.number} in {payment.amount.code}")
    family = await uow.ledger.family(capture_ref(str(payment.uuid)))
    capture = next((e for e in family if e.kind is EntryKind.CAPTURE), None)
    if capture is None:
        return f"payment {payment.number} ({payment.status.value}) was never captured: nothing to dispute"
    dispute = await uow.disputes.get_by_ref(news.provider, news.provider_dispute_id, for_update=True)
    created = dispute is None
    if dispute is None:
        dispute = Dispute.new(payment_id=payment.pk, provider=news.provider, provider_ref=news.provider_dispute_id,
                              amount=news.amount, now=now)
    elif dispute.payment_id != payment.pk:
        raise ConflictError(f"dispute {news.provider_dispute_id} is about another payment")
    before = None if created else dispute.snapshot()
    reason = redact_card_numbers(news.reason)[:MAX_REASON] if news.reason else None
    ignored = dispute.advance(news.status, amount=news.amount, reason=reason,
                              evidence_due_by=news.evidence_due_by, now=now)
    if ignored is not None and not created:
        return ignored
    await _follow_in_ledger(dispute, payment, family, uow, losses, now)
    if created:  # stored as the news and the ledger left it: merchants hear `dispute.created` as it is
        await uow.disputes.add(dispute)
    else:
        await uow.disputes.save(dispute)
    await uow.payments.save(payment)
    await uow.audit.record(None, f"dispute.{dispute.status.value}", "dispute", dispute.uuid, before,
                           dispute.snapshot(), now)
    return None


async def _follow_in_ledger(dispute: Dispute, payment: Payment, family: list[JournalEntry], uow: UnitOfWork,
                            losses: LostDisputes, now: datetime) -> None:
    """The ledger's steps for the dispute's status, each once; see the module's table."""
    capture = next(e for e in family if e.kind is EntryKind.CAPTURE)
    ref = dispute_ref(str(dispute.uuid))
    posted = {e.kind: e for e in family if e.ref == ref}
    taken = posted.get(EntryKind.DISPUTE)
    if taken is None and dispute.status.withholds:
        view = capture_view(capture, [e for e in family if e is not capture])
        # The shares give at most what the payment has left to refund (refunds in flight count
        # there, not yet in the ledger's view); the rest is the platform's cost.
        share = payment.withhold_for_dispute(dispute.amount, now=now)
        taken = dispute_entry(view, str(dispute.uuid), dispute.amount, now, share=share)
        await uow.ledger.append(taken)
        family.append(taken)
        dispute.withheld = taken_from_shares(taken)
    if taken is None:
        return
    if dispute.status in (DisputeStatus.WON, DisputeStatus.INQUIRY_CLOSED) \
            and EntryKind.DISPUTE_REINSTATED not in posted:
        view = capture_view(capture, [e for e in family if e is not capture])
        await uow.ledger.append(dispute_reinstated_entry(view, taken, now))
        payment.release_dispute(dispute.withheld, now=now)
        await rearm_after_dispute(uow, str(payment.uuid), payment.order_id, now)
    elif dispute.status is DisputeStatus.LOST and EntryKind.DISPUTE_LOST not in posted:
        await uow.ledger.append(dispute_lost_entry(taken, now))
        await rearm_after_dispute(uow, str(payment.uuid), payment.order_id, now)
        await losses.lost(dispute, payment, taken, uow, now)
