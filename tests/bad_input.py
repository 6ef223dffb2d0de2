"""What the bad-input tests share: a snapshot of every table, to show a refusal wrote nothing."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import SQLModel

from db.engine import Database


async def table_counts(db: Database) -> dict[str, int]:
    """Rows per table of the whole schema."""
    counts = {}
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return counts
