"""Read queries over the ledger: whole-journal reads for checks and reports."""
from __future__ import annotations

from sqlmodel import select

from db.engine import Database
from db.ledger import entries_from_rows
from db.payment_tables import LedgerEntryRow, LedgerPostingRow
from domain.ledger import JournalEntry


async def all_entries(db: Database) -> list[JournalEntry]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(LedgerEntryRow).order_by(LedgerEntryRow.id))).all()
        postings = (await session.exec(select(LedgerPostingRow))).all()
        return entries_from_rows(list(rows), list(postings))
