"""The ledger in SQL: journal entries appended with their postings, never updated.

An entry is keyed by (kind, ref): appending one that exists already is a no-op, so a movement
replayed by a retry or a duplicate webhook posts once.
"""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.payment_tables import LedgerEntryRow, LedgerPostingRow
from db.row_ids import pk
from domain.ledger import Account, EntryKind, JournalEntry, Posting, Side
from domain.money import Money


def entries_from_rows(rows: list[LedgerEntryRow], postings: list[LedgerPostingRow]) -> list[JournalEntry]:
    by_entry: dict[int, list[LedgerPostingRow]] = {}
    for p in postings:
        by_entry.setdefault(p.entry_id, []).append(p)
    return [
        # Rebuilding checks the balance again: a corrupt row fails loudly.
        JournalEntry(EntryKind(r.kind), r.ref, aware(r.created_at),
                     tuple(Posting(Account.parse(p.account), Money.of(p.amount_minor, p.currency), Side(p.side))
                           for p in sorted(by_entry.get(pk(r), []), key=pk)),
                     r.memo, r.parent_ref)
        for r in rows
    ]


ENTRIES = LedgerEntryRow.__table__
POSTINGS = LedgerPostingRow.__table__


class SqlLedger:
    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite

    async def append(self, entry: JournalEntry) -> bool:
        """Append the entry; False when one with its kind and ref is already there.

        The UNIQUE (kind, ref) decides, in the INSERT itself (ON CONFLICT DO NOTHING): no read
        first, and two transactions racing to post the same movement can't both get through."""
        dialect = sqlite if self.is_sqlite else postgresql
        inserted = await self.session.exec(dialect.insert(ENTRIES).values(  # type: ignore[call-overload]
            kind=entry.kind.value, ref=entry.ref, parent_ref=entry.parent_ref, memo=entry.memo,
            created_at=entry.created_at).on_conflict_do_nothing(index_elements=["kind", "ref"])
            .returning(ENTRIES.c.id))
        entry_id = inserted.scalar_one_or_none()
        if entry_id is None:
            return False
        await self.session.exec(insert(POSTINGS).values([  # type: ignore[call-overload]
            {"entry_id": entry_id, "account": p.account.key, "account_kind": p.account.kind.value,
             "owner_id": p.account.owner_id, "currency": p.amount.code, "side": p.side.value,
             "amount_minor": p.amount.minor} for p in entry.postings]))
        return True

    async def family(self, capture_ref: str) -> list[JournalEntry]:
        """A capture's entry and every entry that follows from it (releases, refunds, …)."""
        rows = (await self.session.exec(select(LedgerEntryRow).where(
            (LedgerEntryRow.ref == capture_ref) | (LedgerEntryRow.parent_ref == capture_ref))
            .order_by(LedgerEntryRow.id))).all()
        if not rows:
            return []
        postings = (await self.session.exec(select(LedgerPostingRow).where(
            LedgerPostingRow.entry_id.in_([r.id for r in rows])))).all()
        return entries_from_rows(list(rows), list(postings))
