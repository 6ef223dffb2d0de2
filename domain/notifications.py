"""Emails: what a change tells the customer or the admins, written to an outbox in the same
transaction as the change, and sent later by the worker (paygate/worker.py, `send-emails`).

    payment confirmation   the customer, once a payment succeeds (captured)
    refund requested       every admin, when a customer asks for a refund
    refund confirmation    the customer, once a refund succeeds

An email is written once: its `key` names the change it tells of (a payment, a request, a
refund attempt), and the outbox keeps one email per key and recipient, so a webhook delivered
twice or a reconciliation repeating the same news never mails twice. Nothing here holds card
data: an email names the payment by its number and amounts only (never brand, last 4 or expiry),
so nothing a mail server keeps can leak a card.

Sending claims a batch (no other worker gets the same emails while the claim lasts), sends each
with no transaction open, and records the result: sent, or tried again later with a growing wait
until MAX_TRIES, then failed (visible to staff with its last error).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from domain.identity import Role
from domain.money import Money

MAX_TRIES = 5
CLAIM_FOR = timedelta(minutes=5)  # longer than one SMTP exchange ever takes (aiosmtplib's timeout)
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8 minutes


class EmailKind(StrEnum):
    PAYMENT_CONFIRMATION = "payment_confirmation"
    REFUND_REQUESTED = "refund_requested"
    REFUND_CONFIRMATION = "refund_confirmation"


class EmailStatus(StrEnum):
    PENDING = "pending"   # waiting to be sent (or for SMTP to be configured)
    SENT = "sent"
    FAILED = "failed"     # MAX_TRIES exhausted; the last error is kept


@dataclass(frozen=True, slots=True)
class Email:
    """An email to write: to one user, or to every user with a role. The outbox resolves the
    addresses when it writes the rows (in the same transaction)."""
    kind: EmailKind
    key: str
    subject: str
    body: str
    to_user_id: int | None = None
    to_role: Role | None = None

    def __post_init__(self) -> None:
        assert (self.to_user_id is None) != (self.to_role is None), "one user or one role"


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A claimed email, ready to send."""
    id: int
    to_address: str
    subject: str
    body: str
    tries: int  # including this one


class Outbox(Protocol):
    async def add(self, email: Email, now: datetime) -> None:
        """Write the email, once per (key, recipient), with the transaction (by its commit at the
        latest: nothing reads it back before)."""
        ...

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[OutgoingEmail]:
        """Pending emails due by `now`, claimed until `until` (their tries counted): another
        claim before then skips them."""
        ...

    async def sent(self, email_id: int, now: datetime) -> None: ...

    async def retry_later(self, email_id: int, error: str, at: datetime | None) -> None:
        """Keep the error; try again at `at`, or fail for good when `at` is None."""
        ...


class EmailSender(Protocol):
    async def send(self, to_address: str, subject: str, body: str) -> None:
        """Hand the message to the mail server; raises on any failure."""
        ...


# --- what each change says ----------------------------------------------------------------------

def payment_confirmation(payment_uuid: str, payment_number: str, order_number: str | None,
                         amount: Money, buyer_id: int) -> Email:
    what = f"order {order_number}" if order_number else f"payment {payment_number}"
    return Email(EmailKind.PAYMENT_CONFIRMATION, f"payment:{payment_uuid}",
                 f"Payment received for {what}",
                 f"We received your payment of {amount} for {what}.\n"
                 f"Payment reference: {payment_number}\n\nThank you.",
                 to_user_id=buyer_id)


def refund_requested(request_uuid: str, payment_number: str, amount: Money, reason: str) -> Email:
    return Email(EmailKind.REFUND_REQUESTED, f"refund-request:{request_uuid}",
                 f"Refund requested for payment {payment_number}",
                 f"A customer asked for a refund of {amount} of payment {payment_number}.\n"
                 f"Reason: {reason}\nRequest: {request_uuid}\n\nApprove or reject it in the admin tools.",
                 to_role=Role.ADMIN)


def refund_confirmation(refund_key: str, payment_number: str, amount: Money, buyer_id: int) -> Email:
    return Email(EmailKind.REFUND_CONFIRMATION, f"refund:{refund_key}",
                 f"Refund of {amount} for payment {payment_number}",
                 f"We refunded {amount} of your payment {payment_number} to the original payment method.\n"
                 "It may take 5 to 10 business days to appear on your statement.",
                 to_user_id=buyer_id)


# --- sending ------------------------------------------------------------------------------------

def next_try(tries: int, now: datetime) -> datetime | None:
    """When to try again after `tries` failed tries; None once they are exhausted."""
    if tries >= MAX_TRIES:
        return None
    return now + FIRST_RETRY * (1 << (tries - 1))


class OutboxUnit(Protocol):
    """The part of a unit of work sending needs."""

    @property
    def emails(self) -> Outbox: ...

    async def __aenter__(self) -> OutboxUnit: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...


async def send_outbox(uow: OutboxUnit, sender: EmailSender, now: datetime, *, limit: int = 50) -> int:
    """Send the emails due: claimed in one transaction, each sent with none open, its result
    written in its own. Answers how many were sent. Idempotent: a crash after sending and before
    recording sends that email again after the claim lapses (at least once, never lost)."""
    async with uow:
        claimed: Sequence[OutgoingEmail] = await uow.emails.claim(now, now + CLAIM_FOR, limit)
        await uow.commit()
    sent = 0
    for email in claimed:
        try:
            await sender.send(email.to_address, email.subject, email.body)
        except Exception as exc:  # any failure of the mail server: kept, retried later
            async with uow:
                await uow.emails.retry_later(email.id, f"{type(exc).__name__}: {exc}"[:500],
                                             next_try(email.tries, now))
                await uow.commit()
            continue
        async with uow:
            await uow.emails.sent(email.id, now)
            await uow.commit()
        sent += 1
    return sent
