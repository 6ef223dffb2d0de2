"""Migration 0015 gives captures booked before it their holds: still held ones release HOLD_DAYS
(the default, 7) after capture as before, released and fully refunded ones are closed."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from db.mapping import aware
from db.migrate import downgrade, upgrade

CAPTURED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_captures_from_before_the_marketplace_get_holds_that_keep_their_release_date(database_url, shared_db,
                                                                                          db):
    # `db`: from empty tables, as every test (its ids would meet the last test's ledger entries).
    await shared_db.engine.dispose()
    await asyncio.to_thread(downgrade, database_url, "0009")
    try:
        async with shared_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO users (id, email, name, roles, created_at) VALUES "
                                    "(901, 's1@example.com', 'S1', 'seller', :at), (902, 's2@example.com', 'S2', "
                                    "'seller', :at)"), {"at": CAPTURED})
            for entry_id, kind, ref, parent, at in ((1, "capture", "capture:p-1", None, CAPTURED),
                                                    (2, "release", "release:p-1:902", "capture:p-1",
                                                     CAPTURED + timedelta(days=7))):
                await conn.execute(text("INSERT INTO ledger_entries (id, kind, ref, parent_ref, created_at) "
                                        "VALUES (:i, :k, :r, :p, :at)"),
                                   {"i": entry_id, "k": kind, "r": ref, "p": parent, "at": at})
            for entry_id, seller, side, amount in ((1, 901, "credit", 900), (1, 902, "credit", 450),
                                                   (2, 902, "debit", 450)):
                await conn.execute(text("INSERT INTO ledger_postings (entry_id, account, account_kind, owner_id, "
                                        "currency, side, amount_minor) VALUES (:e, :a, 'seller_held', :o, 'USD', "
                                        ":s, :m)"),
                                   {"e": entry_id, "a": f"seller_held:{seller}:USD", "o": seller, "s": side,
                                    "m": amount})
        await shared_db.engine.dispose()

        await asyncio.to_thread(upgrade, database_url, "head")

        async with shared_db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT seller_id, amount_minor, status, releases_at FROM market_holds "
                                            "ORDER BY seller_id"))).all()
    finally:
        await shared_db.engine.dispose()
        await asyncio.to_thread(upgrade, database_url, "head")
    # SQLite hands the column back as its text: read either way.
    found = [(seller, amount, status, aware(at if isinstance(at, datetime) else datetime.fromisoformat(at)))
             for seller, amount, status, at in rows]
    assert found[0] == (901, 900, "held", CAPTURED + timedelta(days=7))
    assert found[1][:3] == (902, 450, "released")
