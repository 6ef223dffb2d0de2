"""`backgroundJobs`: what the job engine did and is doing, for staff (README, "Background jobs")."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gql.resolvers import jobs as resolvers
from gql.resolvers.jobs import JobRecord
from gql.schema.relay import Connection, connection, page_request


@strawberry.enum(description="Where a background job is.")
class BackgroundJobState(Enum):
    QUEUED = "queued"          # waiting: new, or failed and retried after its backoff
    PICKED = "picked"          # running in some worker
    SUCCESSFUL = "successful"
    FAILED = "failed"          # failed on its last try: kept for staff, never run again by itself
    EXCEPTION = "exception"    # (PostgreSQL) failed on an engine error outside the retries
    CANCELED = "canceled"
    DELETED = "deleted"


@strawberry.type(description="One background job: a periodic run or a job a change deferred.")
class BackgroundJob:
    legacy_id: int
    name: str
    state: BackgroundJobState
    attempts: int = strawberry.field(description="Tries so far.")
    last_error: str | None = strawberry.field(description="The error of the latest failed try.")
    run_after: datetime | None = strawberry.field(description="When a queued job may run next.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, r: JobRecord) -> BackgroundJob:
        return cls(legacy_id=r.id, name=r.name, state=BackgroundJobState(r.state), attempts=r.attempts,
                   last_error=r.last_error, run_after=r.run_after, created_at=r.created_at, updated_at=r.updated_at)


@strawberry.input
class BackgroundJobFilterInput:
    state: list[BackgroundJobState] | None = None
    name: str | None = strawberry.field(default=None, description='e.g. "reconcile-attempts"')


async def resolve_background_jobs(info: strawberry.Info, first: int | None = None, after: str | None = None,
                                  filter: BackgroundJobFilterInput | None = None) -> Connection[BackgroundJob]:
    req = page_request(first, after)
    f = filter or BackgroundJobFilterInput()
    rows, total = await resolvers.jobs_page(info.context, states=tuple(s.value for s in f.state or ()), name=f.name,
                                            before_id=req.after_id, limit=req.limit)
    return connection([BackgroundJob.from_record(r) for r in rows], [r.id for r in rows], req, total)
