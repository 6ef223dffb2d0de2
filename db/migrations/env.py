"""Alembic environment: async, SQLModel's metadata, batch mode for SQLite's table copies."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlmodel import SQLModel

import db.billing_tables
import db.market_tables
import db.outgoing_webhook_tables
import db.payment_tables
import db.paypal_tables
import db.tables  # noqa: F401
from db.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    # Foreign keys off on SQLite while migrating: batch migrations copy tables, and the copy
    # would be refused by the constraints it is about to restore.
    engine = make_engine(config.get_main_option("sqlalchemy.url"), foreign_keys=False, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run())
