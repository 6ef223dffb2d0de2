"""What paygate itself counted during a run, read from its /metrics as Prometheus would.

    SQL      paygate_db_statements_total by kind (statement, begin, commit, rollback): the engine
             counts what it sends (paygate/metrics.py), so "statements per request" is the
             server's own count, not an estimate.
    GC       paygate_gc_pause_seconds (collections by generation) and
             paygate_gc_pause_longest_seconds (the longest pause since the process started; the
             bench starts a fresh paygate for every run, so it is that run's, warm-up included).

A scrape runs the job queue's statistics query after it has taken its samples (paygate/metrics.py),
so those statements show in the next scrape: `Counts.since` takes two scrapes before the load and
one after, and subtracts what one scrape costs.
"""
from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

KINDS = ("statement", "begin", "commit", "rollback")
GENERATIONS = ("0", "1", "2")
# The app processes that didn't answer a scrape move their GC pauses into the shared metrics once
# a second (paygate/gc_tuning.py FLUSH_EVERY_S): wait a little longer before the last scrape.
SETTLE_S = 1.3


@dataclass(frozen=True)
class Scraped:
    statements: dict[str, float]    # by kind
    collections: dict[str, float]   # by generation
    paused_s: float                 # all pauses added up
    longest_pause_s: float          # of every generation, since the process started


@dataclass(frozen=True)
class RunCounts:
    """What paygate counted during one load, per request (or per flow) where it says so."""

    statements_each: float
    begins_each: float
    commits_each: float
    rollbacks_each: float
    collections: dict[str, int]     # by generation, during the load
    paused_ms_each: float           # time spent in collections, per request (or flow)
    longest_pause_ms: float         # since the fresh server started

    def sql_text(self) -> str:
        tx = f"{self.begins_each:.1f}/{self.commits_each:.1f}/{self.rollbacks_each:.1f}"
        return f"{self.statements_each:.1f} + {tx}"

    def collections_text(self) -> str:
        return "/".join(str(self.collections[g]) for g in GENERATIONS)


def scrape(host: str, port: int) -> Scraped:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET /metrics answered {response.status}")
    return parse(text)


def parse(text: str) -> Scraped:
    statements = dict.fromkeys(KINDS, 0.0)
    collections = dict.fromkeys(GENERATIONS, 0.0)
    longest = paused = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "paygate_db_statements_total":
                statements[sample.labels["kind"]] = statements.get(sample.labels["kind"], 0.0) + sample.value
            elif sample.name == "paygate_gc_pause_seconds_count":
                collections[sample.labels["generation"]] += sample.value
            elif sample.name == "paygate_gc_pause_seconds_sum":
                paused += sample.value
            elif sample.name == "paygate_gc_pause_longest_seconds":
                longest = max(longest, sample.value)
    return Scraped(statements, collections, paused, longest)


class Counts:
    """Scrapes around one load: `before()` just before it, `after(requests)` once it is over."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._first: Scraped | None = None
        self._second: Scraped | None = None

    def before(self) -> None:
        self._first = scrape(self.host, self.port)
        self._second = scrape(self.host, self.port)

    def after(self, requests: int) -> RunCounts:
        assert self._first is not None and self._second is not None, "before() first"
        time.sleep(SETTLE_S)
        last = scrape(self.host, self.port)
        first, second = self._first, self._second

        def each(kind: str) -> float:
            per_scrape = second.statements[kind] - first.statements[kind]
            return (last.statements[kind] - second.statements[kind] - per_scrape) / max(requests, 1)

        return RunCounts(statements_each=each("statement"), begins_each=each("begin"),
                         commits_each=each("commit"), rollbacks_each=each("rollback"),
                         collections={g: round(last.collections[g] - second.collections[g]) for g in GENERATIONS},
                         paused_ms_each=1000 * (last.paused_s - second.paused_s) / max(requests, 1),
                         longest_pause_ms=1000 * last.longest_pause_s)
