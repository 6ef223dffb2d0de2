"""The ledger in SQL: journal entries appended with their postings, never updated.

An entry is keyed by (kind, ref): appending one that exists already is a no-op, so a movement
replayed by a retry or a duplicate webhook posts once.
"""
from __future__ import annotations

from sqlalchemy import DateTime, String, bindparam, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.payment_tables import LedgerEntryRow, LedgerPostingRow
from db.row_ids import pk
from db.write_batch import MAIN, WriteBatch
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
# Built once; the values come with each execution.
_INSERT_ENTRY_SQLITE, _INSERT_ENTRY_POSTGRESQL = (
    dialect.insert(ENTRIES).on_conflict_do_nothing(index_elements=["kind", "ref"]).returning(ENTRIES.c.id)
    for dialect in (sqlite, postgresql))
_INSERT_POSTING = insert(POSTINGS)
# PostgreSQL: the entry and its postings in one statement, whatever their number (arrays, one
# element a posting, in the entry's order: ids follow it). ON CONFLICT leaves `entry` empty, and
# then no posting is written: the answer (the new id or nothing) says which.
_APPEND_POSTGRESQL = text(f"""WITH entry AS (
  INSERT INTO ledger_entries (kind, ref, parent_ref, memo, created_at)
  VALUES (:kind, :ref, :parent_ref, :memo, :created_at) ON CONFLICT (kind, ref) DO NOTHING RETURNING id),
posted AS (
  INSERT INTO ledger_postings (entry_id, account, account_kind, owner_id, currency, side, amount_minor)
  SELECT entry.id, p.account, p.account_kind, p.owner_id, p.currency, p.side, p.amount_minor
  FROM entry, unnest(CAST(:accounts AS varchar[]), CAST(:kinds AS varchar[]), CAST(:owners AS integer[]),
                     CAST(:currencies AS varchar[]), CAST(:sides AS varchar[]), CAST(:amounts AS bigint[]))
       WITH ORDINALITY AS p(account, account_kind, owner_id, currency, side, amount_minor, n)
  ORDER BY p.n)
{MAIN} SELECT id FROM entry""").bindparams(
    bindparam("kind", type_=String), bindparam("ref", type_=String), bindparam("parent_ref", type_=String),
    bindparam("memo", type_=String), bindparam("created_at", type_=DateTime(timezone=True)),
    *(bindparam(name) for name in ("accounts", "kinds", "owners", "currencies", "sides", "amounts")))


# Every kind: `ref` alone has no index, the unique (kind, ref) one serves it once each kind is named
# (PostgreSQL probes it per kind, SQLite likewise), where `ref = :ref OR parent_ref = :ref` read
# every entry of the ledger (a sequential scan, 200k entries: 4,700 against 86 in the planner's costs).
_EVERY_KIND = [kind.value for kind in EntryKind]


def entry_or_followers(ref: str) -> ColumnElement[bool]:
    """The entry `ref` and the entries that follow from it (their parent_ref), on indexes."""
    return ((col(LedgerEntryRow.kind).in_(_EVERY_KIND) & (LedgerEntryRow.ref == ref))
            | (LedgerEntryRow.parent_ref == ref))


class SqlLedger:
    def __init__(self, session: AsyncSession, is_sqlite: bool, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)

    async def append(self, entry: JournalEntry) -> bool:
        """Append the entry; False when one with its kind and ref is already there.

        The UNIQUE (kind, ref) decides, in the INSERT itself (ON CONFLICT DO NOTHING): no read
        first, and two transactions racing to post the same movement can't both get through. PostgreSQL: one
        statement (_APPEND_POSTGRESQL), carrying the writes the batch holds."""
        if not self.is_sqlite:
            appended = await self.batch.execute(_APPEND_POSTGRESQL, {
                "kind": entry.kind.value, "ref": entry.ref, "parent_ref": entry.parent_ref, "memo": entry.memo,
                "created_at": entry.created_at, "accounts": [p.account.key for p in entry.postings],
                "kinds": [p.account.kind.value for p in entry.postings],
                "owners": [p.account.owner_id for p in entry.postings],
                "currencies": [p.amount.code for p in entry.postings], "sides": [p.side.value for p in entry.postings],
                "amounts": [p.amount.minor for p in entry.postings]},
                writes=("ledger_entries", "ledger_postings"))
            return appended.scalar_one_or_none() is not None
        inserted = await self.session.exec(  # type: ignore[call-overload]
            _INSERT_ENTRY_SQLITE if self.is_sqlite else _INSERT_ENTRY_POSTGRESQL,
            params={"kind": entry.kind.value, "ref": entry.ref, "parent_ref": entry.parent_ref, "memo": entry.memo,
                    "created_at": entry.created_at})
        entry_id = inserted.scalar_one_or_none()
        if entry_id is None:
            return False
        # One statement for all the postings (executemany), in their order: ids follow it.
        await self.session.exec(_INSERT_POSTING, params=[  # type: ignore[call-overload]
            {"entry_id": entry_id, "account": p.account.key, "account_kind": p.account.kind.value,
             "owner_id": p.account.owner_id, "currency": p.amount.code, "side": p.side.value,
             "amount_minor": p.amount.minor} for p in entry.postings])
        return True

    async def family(self, capture_ref: str) -> list[JournalEntry]:
        """A capture's entry and every entry that follows from it (releases, refunds, …)."""
        rows = (await self.session.exec(select(LedgerEntryRow).where(entry_or_followers(capture_ref))
                                        .order_by(LedgerEntryRow.id))).all()
        if not rows:
            return []
        postings = (await self.session.exec(select(LedgerPostingRow).where(
            LedgerPostingRow.entry_id.in_([r.id for r in rows])))).all()
        return entries_from_rows(list(rows), list(postings))
