"""The audit trail in SQL: every state change, who made it, before and after."""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from db.tables import AuditRow
from db.write_batch import WriteBatch
from domain.audit import record_change
from domain.identity import Actor

# Built once; the values come with each execution.
_INSERT_AUDIT = insert(AuditRow.__table__)


class SqlAuditTrail:
    def __init__(self, session: AsyncSession, request_id: str | None, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.request_id = request_id
        self.batch = batch or WriteBatch.at_once(session)

    async def record(self, actor: Actor | None, action: str, object_type: str, object_id: object,
                     before: Mapping[str, object] | None, after: Mapping[str, object] | None,
                     at: datetime) -> None:
        # record_change refuses anything that looks like a card number: the trail is forever.
        entry = record_change(actor, action, object_type, str(object_id), before, after, at)
        # A Core INSERT built once: an append-only row needs none of the ORM's tracking, and nothing
        # reads it back in the transaction: it waits for the batch (issue 16).
        await self.batch.defer(_INSERT_AUDIT, {
            "actor_id": entry.actor_id, "actor_role": entry.actor_role, "action": entry.action,
            "object_type": entry.object_type, "object_id": entry.object_id,
            "before": json.dumps(entry.before, sort_keys=True, default=str) if entry.before is not None else None,
            "after": json.dumps(entry.after, sort_keys=True, default=str) if entry.after is not None else None,
            "at": entry.at, "request_id": self.request_id})
