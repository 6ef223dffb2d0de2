"""Users as the gateway mirrors them: a token's subject becomes a row on first sight.

With PAYGATE_JWT_PUBLIC_KEY set, tokens come from the host application's identity provider,
whose users we have never seen; orders and payments reference users by id, so the row must
exist before the caller's first write. Inserting is idempotent (ON CONFLICT DO NOTHING) and
each process remembers whom it has already ensured.

On PostgreSQL an explicit id doesn't move the `users.id` sequence, so a user made here later
(`paygate demo`, or any insert without an id) would be given a mirrored user's id and refused.
A mirror that inserts therefore moves the sequence past the ids taken, under a transaction-scoped
advisory lock so two first sightings at once can't move it back (setval isn't transactional).
"""
from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from db.engine import Database
from db.tables import UserRow
from domain.identity import Actor

log = logging.getLogger("paygate.users")

_MAX_REMEMBERED = 100_000
_SEQUENCE_LOCK = 0x7573657273  # "users": the advisory lock key for moving the id sequence
_PAST_TAKEN_IDS = text("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                       "GREATEST((SELECT MAX(id) FROM users), 1))")


class UserMirror:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: set[int] = set()

    async def ensure(self, actor: Actor) -> None:
        if actor.user_id in self._known:
            return
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(UserRow)
        statement = insert.values(
            id=actor.user_id, email=(actor.email or f"user-{actor.user_id}@users.invalid").lower(),
            name=actor.email or f"user {actor.user_id}",
            roles=" ".join(sorted(role.value for role in actor.roles)),
        ).on_conflict_do_nothing()
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self.db.write_sessions() as session, session.begin():
                if not self.db.is_sqlite:
                    # sqlmodel's exec() is typed for select/insert/update/delete only: plain SQL goes
                    # through the session's connection.
                    connection = await session.connection()
                    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_SEQUENCE_LOCK))
                inserted = (await session.exec(statement.returning(col(UserRow.id)))).first()
                if inserted is not None and not self.db.is_sqlite:
                    await (await session.connection()).execute(_PAST_TAKEN_IDS)
                stored = (await session.exec(select(UserRow.id).where(UserRow.id == actor.user_id))).first()
        finally:
            if lock is not None:
                lock.release()
        if stored is None:
            # The email belongs to another id: the host reused it. Writes by this caller will be
            # refused by the foreign keys until an operator reconciles the two.
            log.warning("could not mirror user: email taken by another id", extra={"user_id": actor.user_id})
            return
        if len(self._known) >= _MAX_REMEMBERED:
            self._known.clear()
        self._known.add(actor.user_id)
