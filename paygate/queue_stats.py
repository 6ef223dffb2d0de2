"""The job queue's depth and age for GET /metrics (paygate_job_queue_depth and
paygate_job_queue_oldest_age_seconds, by queue and state), read from the database at each scrape.

This is the hook for the job engine: `job_queue_stats(db)` returns what create_app passes to
`metrics_endpoint_for`, a `QueueProbe`. The loop of our own (paygate/worker.py) keeps no queue,
so there is nothing to report yet; the engine replaces the body of `job_queue_stats` with one
query over its jobs table, e.g. on procrastinate:

    SELECT queue_name, status, count(*), extract(epoch FROM now() - min(scheduled_at))
    FROM procrastinate_jobs GROUP BY queue_name, status

and returns a `QueueStat(queue, state, depth, oldest_age_s)` per row. Keep it one cheap query:
every scrape runs it (with a 2 s deadline; a failure leaves the scrape answering the rest).
"""
from __future__ import annotations

from db.engine import Database
from paygate.metrics import QueueProbe


def job_queue_stats(db: Database) -> QueueProbe | None:
    """None while no job engine keeps a queue (the metrics are then absent, not zero)."""
    return None
