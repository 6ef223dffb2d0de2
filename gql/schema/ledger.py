"""The ledger, sellers' holds, the audit log and payment methods as staff and sellers see them.

Every field is a plain attribute filled when the object is built (STACK-NOTES.md: an async
resolver on a leaf nearly doubles its cost).
"""
from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from domain.audit import AuditRecord
from domain.ledger import AccountKind, EntryKind, JournalEntry, Side
from domain.ledger import Hold as DomainHold
from gql.resolvers.payment_queries import PaymentMethodInfo
from gql.schema.money import Money
from gql.schema.relay import to_global_id

# GraphQL's copies of the domain's enums (strawberry.enum would mark the domain's own classes). mypy
# can't read an enum built by a call as a type: it is told the domain enum, whose members and values
# the copy has one for one.
if TYPE_CHECKING:
    LedgerEntryKindEnum = EntryKind
    LedgerAccountKindEnum = AccountKind
    LedgerSideEnum = Side
else:
    def _enum(name: str, source: type[Enum], description: str) -> type[Enum]:
        return strawberry.enum(Enum(name, {m.name: m.value for m in source}), description=description)

    LedgerEntryKindEnum = _enum("LedgerEntryKind", EntryKind, "What money movement a journal entry records.")
    LedgerAccountKindEnum = _enum("LedgerAccountKind", AccountKind, "Whose balance an account is, and what for.")
    LedgerSideEnum = _enum("LedgerSide", Side, "Which side of its account a posting is on.")


@strawberry.enum(description="HELD until its release date; RELEASED to the seller; REFUNDED before release.")
class HoldStatus(Enum):
    HELD = "held"
    RELEASED = "released"
    REFUNDED = "refunded"


def _user_id(user_id: int | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id("User", user_id)) if user_id is not None else None


@strawberry.type(description="One posting of a journal entry: an amount on one side of one account.")
class LedgerEntry:
    account: str = strawberry.field(description='The account\'s key, e.g. "seller_held:42:USD".')
    account_kind: LedgerAccountKindEnum
    owner_id: strawberry.ID | None = strawberry.field(description="The seller or buyer the account belongs to.")
    side: LedgerSideEnum
    amount: Money


@strawberry.type(description="A balanced journal entry: its debits equal its credits in every currency.")
class LedgerTransaction:
    id: strawberry.ID
    legacy_id: int
    kind: LedgerEntryKindEnum
    ref: str = strawberry.field(description='What it follows from, e.g. "capture:<payment uuid>"; unique per kind.')
    parent_ref: str | None = strawberry.field(description="The entry it follows up (a refund's capture).")
    memo: str | None
    created_at: datetime
    entries: list[LedgerEntry]

    @classmethod
    def from_domain(cls, row_id: int, e: JournalEntry) -> LedgerTransaction:
        return cls(
            id=strawberry.ID(to_global_id("LedgerTransaction", row_id)), legacy_id=row_id,
            kind=LedgerEntryKindEnum(e.kind.value), ref=e.ref, parent_ref=e.parent_ref, memo=e.memo,
            created_at=e.created_at,
            entries=[LedgerEntry(account=p.account.key, account_kind=LedgerAccountKindEnum(p.account.kind.value),
                                 owner_id=_user_id(p.account.owner_id), side=LedgerSideEnum(p.side.value),
                                 amount=Money.from_domain(p.amount)) for p in e.postings])


@strawberry.type(description="One seller's net share of one capture, held until its release date.")
class Hold:
    payment_id: strawberry.ID | None
    seller_id: strawberry.ID
    capture_ref: str
    amount: Money = strawberry.field(description="The seller's net share at capture (after the platform's fee).")
    held: Money = strawberry.field(description="Still on hold: less what was refunded from it or released.")
    releases_at: datetime | None = strawberry.field(
        description="When the share becomes available: HOLD_DAYS after the seller's lines are delivered; "
                    "null until they are.")
    released_at: datetime | None
    status: HoldStatus

    @classmethod
    def from_domain(cls, h: DomainHold, payment_id: int | None, releases_at: datetime | None) -> Hold:
        return cls(payment_id=strawberry.ID(to_global_id("Payment", payment_id)) if payment_id else None,
                   seller_id=strawberry.ID(to_global_id("User", h.seller_id)), capture_ref=h.capture_ref,
                   amount=Money.from_domain(h.amount), held=Money.from_domain(h.held), releases_at=releases_at,
                   released_at=h.released_at, status=HoldStatus(h.status))


def _json(snapshot: dict | None) -> str | None:
    return json.dumps(snapshot, sort_keys=True) if snapshot is not None else None


@strawberry.type(description="One change: who made it, to what, from what, to what, and when.")
class AuditEntry:
    legacy_id: int
    actor_id: strawberry.ID | None = strawberry.field(description="Null when the system acted.")
    actor_role: str
    action: str
    object_type: str
    object_id: str
    before: str | None = strawberry.field(description="A JSON object; null when the object was created.")
    after: str | None = strawberry.field(description="A JSON object; null when it was deleted.")
    at: datetime
    request_id: str | None

    @classmethod
    def from_domain(cls, row_id: int, r: AuditRecord) -> AuditEntry:
        return cls(legacy_id=row_id, actor_id=_user_id(r.actor_id), actor_role=r.actor_role, action=r.action,
                   object_type=r.object_type, object_id=r.object_id, before=_json(r.before), after=_json(r.after),
                   at=r.at, request_id=r.request_id)


@strawberry.type
class PaymentMethodConfig:
    key: str
    value: str


@strawberry.type(description="A way to pay offered to the caller, with its public configuration only.")
class PaymentMethod:
    id: strawberry.ID = strawberry.field(description="The provider's name, e.g. \"dummy\".")
    name: str
    provider: str
    kind: str = strawberry.field(description="card, wallet or other.")
    capabilities: list[str]
    public_config: list[PaymentMethodConfig]

    @classmethod
    def from_info(cls, m: PaymentMethodInfo) -> PaymentMethod:
        return cls(id=strawberry.ID(m.provider), name=m.name, provider=m.provider, kind=m.kind,
                   capabilities=list(m.capabilities),
                   public_config=[PaymentMethodConfig(key=k, value=v) for k, v in m.public_config])
