"""Rows of payments, their attempts, refund requests and the ledger.

The CHECKs restate the Payment aggregate's invariants (captured <= authorized <= amount,
refunded <= captured) and the ledger's (postings positive; one entry per kind and ref), so a
bug that slipped past the domain is still refused by the database.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables import partial

OPEN_ATTEMPT = "status IN ('pending','unknown')"  # what reconciliation looks for (db/payments.py)

PAYMENT_STATUSES = ("'requires_payment_method','requires_action','processing','requires_capture',"
                    "'succeeded','canceled','failed'")


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN ({PAYMENT_STATUSES})", name="ck_payments_status"),
        CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),
        CheckConstraint("captured_minor <= authorized_minor", name="ck_payments_captured_within_authorized"),
        CheckConstraint("authorized_minor <= amount_minor", name="ck_payments_authorized_within_amount"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= captured_minor",
                        name="ck_payments_refunded_within_captured"),
        CheckConstraint("checkout IS NULL OR checkout IN ('elements','hosted','embedded')",
                        name="ck_payments_checkout"),
        Index("ix_payments_order", "order_id"),
        Index("ix_payments_buyer_created", "buyer_id", "created_at"),
        # By provider ref (a webhook's payment): `provider_ref = :ref` implies NOT NULL, whatever
        # :ref is, so a bound parameter is fine here. A new payment has none yet.
        Index("ix_payments_provider_ref", "provider", "provider_ref", **partial("provider_ref IS NOT NULL")),
        Index("ix_payments_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    number: str | None = Field(default=None, max_length=24, unique=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id")  # None: a direct payment (seed 002)
    buyer_id: int = Field(foreign_key="users.id")
    provider: str = Field(max_length=32)
    capture_method: str = Field(max_length=12)
    status: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    authorized_minor: int = Field(default=0, sa_type=BigInteger)
    captured_minor: int = Field(default=0, sa_type=BigInteger)
    refunded_minor: int = Field(default=0, sa_type=BigInteger)
    # Withheld by disputes open or lost (domain/disputes): not refundable.
    disputed_minor: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    card_brand: str | None = Field(default=None, max_length=16)
    card_last4: str | None = Field(default=None, max_length=4)
    card_exp_month: int | None = None
    card_exp_year: int | None = None
    provider_ref: str | None = Field(default=None, max_length=255)
    client_secret: str | None = Field(default=None, max_length=255)
    redirect_url: str | None = Field(default=None, max_length=2048)  # the provider's page for the customer
    decline_code: str | None = Field(default=None, max_length=64)
    decline_message: str | None = Field(default=None, max_length=500)
    checkout: str | None = Field(default=None, max_length=12)  # CheckoutKind when opened at the provider
    metadata_json: dict[str, str] | None = Field(default=None, sa_type=JSON)  # the client's own tags
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class PaymentAttemptRow(SQLModel, table=True):
    """One call to a provider. A refund is an attempt of kind 'refund', with its own REF- number."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("payment_id", "seq", name="uq_payment_attempts_payment_seq"),
        # One attempt per client's Idempotency-Key and payment. Most attempts have no key, and
        # NULLs never collide: the index holds the keyed ones only, the same rule.
        Index("uq_payment_attempts_payment_client_key", "payment_id", "client_key", unique=True,
              **partial("client_key IS NOT NULL")),
        # Only refunds are numbered (REF-…), and an unnumbered attempt needs no entry.
        Index("payment_attempts_number_key", "number", unique=True, **partial("number IS NOT NULL")),
        CheckConstraint("kind IN ('authorize','capture','void','refund')", name="ck_payment_attempts_kind"),
        CheckConstraint("status IN ('pending','succeeded','failed','unknown')", name="ck_payment_attempts_status"),
        CheckConstraint("amount_minor >= 0", name="ck_payment_attempts_amount_not_negative"),
        # Reconciliation's queue (oldest lease first) and the voids in flight: an attempt leaves
        # it when it is answered, at no cost in this index.
        Index("ix_payment_attempts_open", "updated_at", "id", **partial(OPEN_ATTEMPT)),
        # The refunds' listing (db/payment_queries.py), newest id first, is the only reader by kind.
        Index("ix_payment_attempts_refunds", "id", "created_at", **partial("kind = 'refund'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    number: str | None = Field(default=None, max_length=24)  # unique: payment_attempts_number_key
    payment_id: int = Field(foreign_key="payments.id")
    seq: int
    kind: str = Field(max_length=12)
    status: str = Field(max_length=12)
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    idempotency_key: str = Field(max_length=80, unique=True)
    provider_ref: str | None = Field(default=None, max_length=255)
    decline_code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    client_key: str | None = Field(default=None, max_length=64)  # the client's Idempotency-Key, hashed with its caller
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class RefundRequestRow(SQLModel, table=True):
    """A customer's request for a refund, waiting for staff to approve or reject it."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="ck_refund_requests_status"),
        CheckConstraint("amount_minor > 0", name="ck_refund_requests_amount_positive"),
        Index("ix_refund_requests_payment", "payment_id"),
        Index("ix_refund_requests_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    payment_id: int = Field(foreign_key="payments.id")
    requested_by: int = Field(foreign_key="users.id")
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    status: str = Field(max_length=10)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decision_note: str | None = Field(default=None, max_length=500)
    refund_attempt_id: int | None = Field(default=None, foreign_key="payment_attempts.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LedgerEntryRow(SQLModel, table=True):
    """One journal entry (a ledger transaction). Appended, never updated: (kind, ref) is its key."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("kind", "ref", name="uq_ledger_entries_kind_ref"),
        Index("ix_ledger_entries_parent", "parent_ref", **partial("parent_ref IS NOT NULL")),  # a capture has none
        Index("ix_ledger_entries_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    ref: str = Field(max_length=120)
    parent_ref: str | None = Field(default=None, max_length=120)
    memo: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class LedgerPostingRow(SQLModel, table=True):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_ledger_postings_amount_positive"),
        CheckConstraint("side IN ('debit','credit')", name="ck_ledger_postings_side"),
        Index("ix_ledger_postings_entry", "entry_id"),
        Index("ix_ledger_postings_account", "account", "entry_id"),
        # Read by owner only (`owner_id = :id`): the platform's postings have none.
        Index("ix_ledger_postings_owner", "owner_id", "account_kind", **partial("owner_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entries.id")
    account: str = Field(max_length=80)        # Account.key, e.g. "seller_held:42:USD"
    account_kind: str = Field(max_length=24)
    owner_id: int | None = None
    currency: str = Field(max_length=3)
    side: str = Field(max_length=6)
    amount_minor: int = Field(sa_type=BigInteger)


class WebhookEventRow(SQLModel, table=True):
    """Every provider event, stored by its id before it is acted on: a redelivery is recognised
    and acknowledged without acting twice (UNIQUE provider + event id)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
        CheckConstraint("state IN ('received','processed','ignored','failed')", name="ck_webhook_events_state"),
        Index("ix_webhook_events_received", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    event_id: str = Field(max_length=255)
    event_type: str = Field(max_length=80)
    object_ref: str | None = Field(default=None, max_length=255)  # the provider's payment/refund id
    state: str = Field(max_length=10)
    detail: str | None = Field(default=None, max_length=500)  # why ignored/failed, for operators
    received_at: datetime = Field(sa_type=DateTime(timezone=True))
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class DummyGatewayRecordRow(SQLModel, table=True):
    """The dummy gateway's own records (providers/dummy_records.py), in our database so that every
    app and worker process sees one gateway: a JSON object per key ("intent:pi_dummy_…",
    "refund:re_dummy_…", "answer:<idempotency key>"). Not ours to read: only the gateway does."""

    __tablename__ = "dummy_gateway_records"

    key: str = Field(primary_key=True, max_length=300)
    body: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
