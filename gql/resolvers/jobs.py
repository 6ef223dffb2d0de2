"""Background jobs for staff: the queue's state, as db/job_queries.py reads it. Staff and admins
only (`require_actor`): a job belongs to no user, and its error may name anyone's payment."""
from __future__ import annotations

from db import job_queries
from db.job_queries import JobRecord as JobRecord  # the page's rows, for gql/schema/jobs.py
from domain.identity import Role
from gql.resolvers.auth import require_actor


async def jobs_page(context, *, states: tuple[str, ...], name: str | None, before_id: int | None,
                    limit: int) -> tuple[list[JobRecord], int]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    return await job_queries.jobs_page(context.db, states=states, name=name, before_id=before_id, limit=limit)
