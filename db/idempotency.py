"""Idempotency keys in SQL: claim a key, keep the first response, replay it, forget it after a day.

Every decision that must hold across processes rests on the database, never on a read followed by
a write in Python:

- a claim is `INSERT … ON CONFLICT (scope, key) DO NOTHING`: of two requests racing with one key,
  the UNIQUE constraint lets exactly one insert;
- taking over a row whose owner died is a guarded `UPDATE … SET created_at = now WHERE state =
  'in_flight' AND created_at <= cutoff`: of two retries racing for it, one updates it;
- a claim is owned by its row's id together with its `created_at`, which a takeover moves on, so a
  request that was taken over (it outlived the stale limit) can neither overwrite nor delete its
  successor's claim. (The id alone would not do: SQLite reuses the id of a deleted last row.)

Each method is one short write transaction; nothing here is held open while the app works.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import Database
from db.tables import IdempotencyKeyRow

Headers = list[tuple[str, str]]
# The database decides which rows an UPDATE or DELETE hits; the ORM must not re-evaluate the
# criteria against rows it loaded (SQLite hands back naive datetimes, which don't compare).
_SQL_ONLY = {"synchronize_session": False}
# No request of ours should run for more than a minute (provider calls time out well before);
# five times that and its owner is surely gone. A takeover runs the request a second time, so err
# on the side of a longer 409 rather than a double execution.
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Claimed:
    """The caller owns the key and must run the request, then `complete` or `release` it."""

    row_id: int
    claimed_at: datetime
    taken_over: bool = False  # the key was left in flight by a request that never finished


@dataclass(frozen=True, slots=True)
class Replay:
    """The key's request already ran: answer with its stored response."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was first used for a different request."""


@dataclass(frozen=True, slots=True)
class InFlight:
    """The key's request is still running elsewhere."""


Claim = Claimed | Replay | Mismatch | InFlight


class IdempotencyStore:
    # A row vanishes between our failed insert and our read when its owner releases it (a 5xx)
    # or the purge removes it; trying again then claims it. More than a few laps means a bug.
    _CLAIM_ATTEMPTS = 3

    def __init__(self, db: Database, stale_after: timedelta = STALE_AFTER) -> None:
        self.db = db
        self.stale_after = stale_after

    async def claim(self, scope: str, key: str, fingerprint: str, now: datetime) -> Claim:
        for _ in range(self._CLAIM_ATTEMPTS):
            async with self._transaction() as session:
                row_id = await self._insert(session, scope, key, fingerprint, now)
                if row_id is not None:
                    return Claimed(row_id, now)
                row = (await session.exec(select(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.scope == scope, IdempotencyKeyRow.key == key))).first()
                if row is None:
                    continue
                if row.fingerprint != fingerprint:
                    return Mismatch()
                if row.state == "done":
                    headers = [(name, value) for name, value in json.loads(row.response_headers or "[]")]
                    return Replay(row.response_status or 0, headers, row.response_body or b"")
                # In flight: ours to take only if its owner has been silent past the stale limit.
                # The condition is re-checked by the UPDATE itself, so of two retries one wins.
                taken = await session.exec(update(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.id == row.id, IdempotencyKeyRow.state == "in_flight",
                    IdempotencyKeyRow.created_at <= now - self.stale_after,
                ).values(created_at=now).execution_options(**_SQL_ONLY))
                if taken.rowcount != 1:
                    return InFlight()
                return Claimed(row.id, now, taken_over=True)
        raise RuntimeError(f"idempotency key {key!r} kept vanishing while being claimed")

    async def complete(self, scope: str, key: str, status: int, headers: Headers, body: bytes, now: datetime,
                       *, claim: Claimed) -> bool:
        """Keep the response for replays; False when the claim was lost (taken over meanwhile)."""
        async with self._transaction() as session:
            done = await session.exec(update(IdempotencyKeyRow).where(*_owned(scope, key, claim)).values(
                state="done", response_status=status, response_headers=json.dumps(headers),
                response_body=body, completed_at=now).execution_options(**_SQL_ONLY))
            return done.rowcount == 1

    async def release(self, scope: str, key: str, *, claim: Claimed) -> None:
        """Forget an unfinished claim so that a retry runs the request again."""
        async with self._transaction() as session:
            await session.exec(delete(IdempotencyKeyRow).where(
                *_owned(scope, key, claim)).execution_options(**_SQL_ONLY))

    async def purge(self, older_than: datetime, batch: int = 1000) -> int:
        """Delete keys created before `older_than`, in batches: on SQLite a long DELETE would hold
        the one write lock that every request's transaction waits for."""
        purged = 0
        while True:
            async with self._transaction() as session:
                ids = (select(IdempotencyKeyRow.id).where(IdempotencyKeyRow.created_at < older_than)
                       .order_by(IdempotencyKeyRow.id).limit(batch))
                result = await session.exec(delete(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.id.in_(ids.scalar_subquery())).execution_options(**_SQL_ONLY))
            purged += result.rowcount
            if result.rowcount < batch:
                return purged

    async def _insert(self, session: AsyncSession, scope: str, key: str, fingerprint: str,
                      now: datetime) -> int | None:
        """The new row's id, or None when (scope, key) is already taken."""
        dialect = sqlite if self.db.is_sqlite else postgresql
        inserted = await session.exec(
            dialect.insert(IdempotencyKeyRow)
            .values(scope=scope, key=key, fingerprint=fingerprint, state="in_flight", created_at=now)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(IdempotencyKeyRow.id))
        return inserted.scalar_one_or_none()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        # SQLite: the in-process lock queues writers; the write session begins IMMEDIATE (db/engine.py).
        lock = self.db.write_lock
        async with lock if lock is not None else contextlib.nullcontext():
            async with self.db.write_sessions() as session, session.begin():
                yield session


def _owned(scope: str, key: str, claim: Claimed) -> tuple[ColumnElement[bool], ...]:
    """The claim's row, provided it is still in flight and nobody took it over."""
    return (col(IdempotencyKeyRow.id) == claim.row_id, col(IdempotencyKeyRow.scope) == scope,
            col(IdempotencyKeyRow.key) == key, col(IdempotencyKeyRow.state) == "in_flight",
            col(IdempotencyKeyRow.created_at) == claim.claimed_at)
