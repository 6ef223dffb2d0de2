"""Prometheus metrics (GET /metrics).

  paygate_http_requests_total, paygate_http_request_duration_seconds   by method and route template
  paygate_graphql_operation_duration_seconds   by operation type, name and outcome (graphql_metrics.py)
  paygate_provider_calls_total, paygate_provider_call_duration_seconds,
  paygate_provider_errors_total                each provider call (provider_metrics.py)
  paygate_payments_total, paygate_refunds_total  what providers answered, by provider and status
  paygate_webhooks_received_total, paygate_webhook_lag_seconds   incoming webhooks (webhook_metrics.py)
  paygate_db_pool_connections_in_use, paygate_db_pool_size   per process, summed over live ones
  paygate_job_queue_depth, paygate_job_queue_oldest_age_seconds   by job and state, read at scrape time
                                                                  (queue_stats.py)
  paygate_db_statements_total                  SQL sent to the database, by kind (statement, begin,
                                               commit, rollback): round trips, not time
  paygate_gc_pause_seconds, paygate_gc_pause_longest_seconds   cyclic garbage collections by generation
                                                               (gc_tuning.py)

Labels use the route's template (`/api/payment/transactions/{transaction_id}/`), never the raw
path, so a client can't create unbounded label values.

Several processes (`paygate serve --workers N`): prometheus_client's multiprocess mode. Each
process writes its samples to files in PROMETHEUS_MULTIPROC_DIR and whichever process answers a
scrape sums them all, so one scrape of the port sees the whole server. `paygate serve` makes a
fresh directory when it starts more than one worker and the variable is unset (cli.py); it must be
set before prometheus_client is imported, which is why the CLI sets it and not this module.
Several hosts (or a `paygate serve` per container) are scraped one by one, as usual.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("paygate.metrics")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Webhook lag: from the provider's own timestamp to our receipt; providers retry for days.
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0)

REQUESTS = Counter("paygate_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
DURATION = Histogram("paygate_http_request_duration_seconds", "Time to answer an HTTP request.",
                     ["method", "route"], buckets=LATENCY_BUCKETS)
# One sample per live process, with its pid: which processes the numbers come from.
PROCESS_STARTED = Gauge("paygate_process_start_time_seconds", "When this paygate process started (unix time).",
                        multiprocess_mode="liveall")
POOL_IN_USE = Gauge("paygate_db_pool_connections_in_use", "Database connections checked out of the pool.",
                    multiprocess_mode="livesum")
POOL_SIZE = Gauge("paygate_db_pool_size", "Database connections the pool keeps (without overflow).",
                  multiprocess_mode="livesum")

# Each statement the engine sends, and the transactions around them (count_statements).
STATEMENTS = Counter("paygate_db_statements_total", "SQL round trips to the database, by kind.", ["kind"])
# The garbage collector stops everything in the process while it runs (gc_tuning.py). Buckets
# around the 5 and 10 ms a pause may cost (issue 16), up to the ~80 ms full collections seen
# before start-up was frozen.
GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25)
GC_PAUSE = Histogram("paygate_gc_pause_seconds", "Cyclic garbage collections: how long each stopped the process.",
                     ["generation"], buckets=GC_PAUSE_BUCKETS)
GC_PAUSE_LONGEST = Gauge("paygate_gc_pause_longest_seconds",
                         "The longest garbage collection pause since the process started (the largest of "
                         "the live processes).", ["generation"], multiprocess_mode="livemax")

# The marketplace's reconciliation (paygate/worker.py `reconcile-sellers`): a seller's balance at
# the provider differs from our ledger's. Any increase wants a human.
SELLER_DIFFERENCES = Counter("paygate_seller_balance_differences_total",
                             "Connected accounts whose provider balance differed from the ledger.", ["currency"])


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def process_started() -> None:
    PROCESS_STARTED.set(time.time())


def process_stopping() -> None:
    """Drop this process's live gauges from the shared directory (a killed process's linger until
    the directory is wiped at the next start: `paygate serve` does)."""
    if multiprocess_dir():
        mark_process_dead(os.getpid())


def route_template(scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # A seed's routes live under its API's mount, whose prefix Starlette leaves in root_path.
    return scope.get("root_path", "") + path if path else "unmatched"


def observe(scope, status: int, duration_s: float) -> None:
    template = route_template(scope)
    method = scope.get("method", "GET")
    key = (method, template, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        # prometheus_client's `labels` checks its values and takes a lock on every call (a
        # tenth of a small request's CPU, measured): each combination's children are looked up
        # once. Methods are the client's text, so the memo is bounded, not the metric.
        if len(_REQUEST_CHILDREN) >= _MAX_REQUEST_CHILDREN:
            _REQUEST_CHILDREN.clear()
        children = _REQUEST_CHILDREN[key] = (REQUESTS.labels(method, template, str(status)),
                                             DURATION.labels(method, template))
    children[0].inc()
    children[1].observe(duration_s)


_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple] = {}
_MAX_REQUEST_CHILDREN = 1024


def watch_pool(engine) -> None:
    """Count connections in and out of `engine`'s pool (SQLAlchemy pool events, any process)."""
    from sqlalchemy import event

    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())
    event.listen(pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: POOL_IN_USE.dec())


_BEGAN = "paygate_began"  # keys in the DBAPI connection's `info`, see count_statements
_BEGIN_PENDING = "paygate_begin_pending"


def count_statements(engine) -> None:
    """Count the SQL `engine` sends (paygate_db_statements_total): every statement
    (`before_cursor_execute`), and BEGIN, COMMIT and ROLLBACK when they reach the database.

    On PostgreSQL the asyncpg driver sends BEGIN with a transaction's first statement, and nothing
    at all for connections in AUTOCOMMIT (the read sessions, db/engine.py), so a BEGIN is counted
    at that first statement and its COMMIT or ROLLBACK only if it was. On SQLite the BEGIN is a
    statement of ours (db/engine.py) and is counted by its text."""
    from sqlalchemy import event

    from db.direct_statements import hears_direct

    statements, begins = STATEMENTS.labels("statement"), STATEMENTS.labels("begin")
    commits, rollbacks = STATEMENTS.labels("commit"), STATEMENTS.labels("rollback")
    sync = engine.sync_engine

    # The statement listeners hear the statements a write transaction sends straight to asyncpg
    # too (db/direct_statements.py `hears_direct`: registered with retval=True, they answer the
    # statement and its parameters unchanged).
    if sync.dialect.name == "sqlite":
        @hears_direct
        def on_sqlite_execute(conn, _cursor, statement: str, parameters, *_):
            if statement.startswith("BEGIN"):
                conn.info[_BEGAN] = True
                begins.inc()
            else:
                statements.inc()
            return statement, parameters

        event.listen(sync, "before_cursor_execute", on_sqlite_execute, retval=True)
    else:
        def on_begin(conn) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.info[_BEGIN_PENDING] = True

        @hears_direct
        def on_execute(conn, _cursor, statement: str, parameters, *_):
            info = conn.info
            if info.pop(_BEGIN_PENDING, False):
                info[_BEGAN] = True
                begins.inc()
            statements.inc()
            return statement, parameters

        event.listen(sync, "begin", on_begin)
        event.listen(sync, "before_cursor_execute", on_execute, retval=True)

    def ended(counter):
        def on_end(conn) -> None:
            info = conn.info
            info.pop(_BEGIN_PENDING, None)
            if info.pop(_BEGAN, False):
                counter.inc()
        return on_end

    event.listen(sync, "commit", ended(commits))
    event.listen(sync, "rollback", ended(rollbacks))


@dataclass(frozen=True, slots=True)
class QueueStat:
    """One job's runs in one state, as the queue holds them at scrape time."""
    job: str
    state: str            # due, scheduled, picked, failed (db/job_queries.py)
    depth: int
    oldest_age_s: float   # the oldest job in this state, 0 when none


QueueProbe = Callable[[], Awaitable[Iterable[QueueStat]]]
PROBE_TIMEOUT_S = 2.0


class _Scraped:
    """Gauges read from the database at scrape time: the same for every process, so they are not
    written to the multiprocess files (they would be summed once per process)."""

    def __init__(self, stats: Iterable[QueueStat]) -> None:
        self.stats = list(stats)

    def collect(self):
        depth = GaugeMetricFamily("paygate_job_queue_depth", "Job runs in the queue, by job and state.",
                                  labels=["job", "state"])
        age = GaugeMetricFamily("paygate_job_queue_oldest_age_seconds",
                                "How late the oldest due run is, or how long the oldest picked one has run.",
                                labels=["job", "state"])
        for stat in self.stats:
            depth.add_metric([stat.job, stat.state], stat.depth)
            age.add_metric([stat.job, stat.state], stat.oldest_age_s)
        yield depth
        yield age


def metrics_endpoint_for(queue_probe: QueueProbe | None, *, before_scrape: Callable[[], None] | None = None
                         ) -> Callable[[Request], Awaitable[Response]]:
    """The /metrics route; `before_scrape` brings this process's samples up to date first (the GC
    pauses recorded since the last flush: gc_tuning.py)."""
    async def metrics(_: Request) -> Response:
        if before_scrape is not None:
            before_scrape()
        body = generate_latest(_registry())
        if queue_probe is not None:
            try:
                async with asyncio.timeout(PROBE_TIMEOUT_S):
                    stats = await queue_probe()
            except Exception:  # a scrape still answers what this process knows
                log.exception("job queue statistics unavailable")
            else:
                scraped = CollectorRegistry(auto_describe=False)
                scraped.register(_Scraped(stats))
                body += generate_latest(scraped)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics


def _registry() -> CollectorRegistry:
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry

