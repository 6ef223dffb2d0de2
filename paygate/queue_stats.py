"""The job queue's depth and age for GET /metrics, read from the database at each scrape
(db/job_queries.py `queue_depths`: one statement over pgqueuer's table on PostgreSQL, or the
embedded queue's on SQLite):

  paygate_job_queue_depth{job, state}                 runs waiting (due: their time has come;
                                                      scheduled: a retry's backoff or a deferred
                                                      job's delay), running (picked), or failed
  paygate_job_queue_oldest_age_seconds{job, state}    due: how late the oldest waiting run is;
                                                      picked: how long the oldest has been running

Every process of a deployment reads the same queue, so any one scrape tells it all; a failing
read (2 s deadline) leaves the scrape answering the rest.
"""
from __future__ import annotations

from db.engine import Database
from db.job_queries import queue_depths
from domain.clock import utc_now
from paygate.metrics import QueueProbe, QueueStat


def job_queue_stats(db: Database) -> QueueProbe:
    async def probe() -> list[QueueStat]:
        return [QueueStat(d.name, d.state, d.depth, d.oldest_age_s) for d in await queue_depths(db, utc_now())]

    return probe
