"""A capture's ledger family (its entry and those that follow from it) is read on indexes, never
by reading the whole journal: every refund, release, transfer and dispute looks one up."""
from __future__ import annotations

from sqlalchemy import select, text

from db.ledger import entry_or_followers
from db.payment_tables import LedgerEntryRow


async def _plan(db, statement) -> str:
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row[-1]) for row in rows)
        # A table this small would be scanned by choice: forbid the scan, so that the plan shows
        # how an index serves the query (or a scan, where none can).
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await conn.exec_driver_sql(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in rows)
        await conn.rollback()
        return plan


async def test_a_captures_family_is_found_on_the_ledgers_indexes(db):
    plan = await _plan(db, select(LedgerEntryRow.id).where(entry_or_followers("capture:p1")))

    if db.is_sqlite:
        assert "SCAN ledger_entries" not in plan and "SEARCH ledger_entries" in plan, plan
    else:
        # The unique (kind, ref) index read by its leading column: `ref` alone would read it whole.
        assert "Seq Scan" not in plan and "Index Cond: (((kind)::text = ANY" in plan, plan
