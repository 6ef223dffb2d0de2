"""What an operator (and bench/) reads on /metrics about the garbage collector and the SQL sent:
`paygate serve --workers 2` on PostgreSQL as it runs in production (its jobs belong to `paygate
worker`, so nothing else sends SQL meanwhile), scraped over HTTP; and the two recorders alone, in
this process, where their counts can be pinned exactly."""
from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from bench import scrape
from db.engine import Database
from paygate.gc_tuning import GcPauses, WarmUpFreezes
from paygate.metrics import count_statements
from tests.cluster import fresh_database
from tests.conftest import IN_CI, PG_URL, _postgres_answers
from tests.test_serve import Serving, _paygate, serve

PRODUCTS = {"query": "{ products(first: 20) { edges { node { id name price { amount currency } } } } }"}


@pytest.fixture(scope="module")
async def two_workers(tmp_path_factory) -> AsyncIterator[Serving]:
    if problem := await _postgres_answers(PG_URL):
        if IN_CI:
            pytest.fail(f"PostgreSQL did not answer at {PG_URL}: {problem} (CI=true: the tests must run)")
        pytest.skip(f"PostgreSQL did not answer at {PG_URL}: {problem}")
    url = await fresh_database(PG_URL, "gcmetrics")
    _paygate(url, "migrate")
    _paygate(url, "demo")
    serving = serve(url, tmp_path_factory.mktemp("gc-serve"), PAYGATE_RATE_LIMIT="off")
    yield next(serving)
    next(serving, None)  # stops it


@pytest.mark.postgres
def test_the_servers_garbage_collections_are_reported_by_generation_with_the_longest_pause(two_workers):
    host, port = two_workers.url.removeprefix("http://").split(":")
    scraped = scrape.scrape(host, int(port))

    # Collections come with allocations: keep the workers busy until some have run (bounded).
    with httpx.Client(base_url=two_workers.url) as http:
        for _ in range(60):
            if scraped.collections["0"] > 0:
                break
            for _ in range(25):
                assert http.post("/graphql", json=PRODUCTS).status_code == 200
            scraped = scrape.scrape(host, int(port))
        text_ = http.get("/metrics").text

    assert scraped.collections["0"] > 0
    assert scraped.longest_pause_s > 0
    assert 'paygate_gc_pause_seconds_bucket{generation="0",le="0.005"}' in text_
    assert 'paygate_gc_pause_longest_seconds{generation="0"}' in text_


@pytest.mark.postgres
def test_the_server_counts_each_statement_and_the_transaction_around_it(two_workers):
    host, port = two_workers.url.removeprefix("http://").split(":")
    counts = scrape.Counts(host, int(port))
    counts.before()

    assert httpx.get(two_workers.url + "/readyz").status_code == 200

    run = counts.after(requests=1)
    # The database's ping (Database.ping: a connection not in autocommit, so BEGIN with its
    # SELECT 1 and ROLLBACK when it closes) and the job queue's (a read session: autocommit).
    assert (run.statements_each, run.begins_each, run.commits_each, run.rollbacks_each) == (2, 1, 0, 1)


def _counted() -> dict[str, float]:
    return {kind: REGISTRY.get_sample_value("paygate_db_statements_total", {"kind": kind}) or 0.0
            for kind in scrape.KINDS}


async def test_reads_in_autocommit_count_no_transaction_and_writes_count_theirs(database_url):
    db = Database.from_url(database_url)
    count_statements(db.engine)
    try:
        before = _counted()
        async with db.read_sessions() as session:
            await (await session.connection()).exec_driver_sql("SELECT 1")
        after_read = _counted()
        async with db.write_sessions() as session, session.begin():
            connection = await session.connection()
            await connection.exec_driver_sql("SELECT 1")
            await connection.exec_driver_sql("SELECT 2")
        after_write = _counted()
    finally:
        await db.dispose()

    read = {k: after_read[k] - before[k] for k in scrape.KINDS}
    write = {k: after_write[k] - after_read[k] for k in scrape.KINDS}
    if db.is_sqlite:  # SQLite's reads keep their transaction (db/engine.py)
        assert read == {"statement": 1, "begin": 1, "commit": 0, "rollback": 1}
    else:  # PostgreSQL's reads run in autocommit: asyncpg sends no BEGIN and nothing at the end
        assert read == {"statement": 1, "begin": 0, "commit": 0, "rollback": 0}
    assert write == {"statement": 2, "begin": 1, "commit": 1, "rollback": 0}


def test_a_pause_is_observed_only_when_flushed_outside_the_collector():
    pauses = GcPauses()

    def full_collections() -> float:
        return REGISTRY.get_sample_value("paygate_gc_pause_seconds_count", {"generation": "2"}) or 0.0

    before = full_collections()
    pauses.install()
    try:
        gc.collect()
        gc.collect()
        recorded_by_the_hook = full_collections()
        pauses.flush()
    finally:
        pauses.uninstall()

    assert recorded_by_the_hook == before  # nothing written from inside the collector
    assert full_collections() == before + 2
    assert REGISTRY.get_sample_value("paygate_gc_pause_longest_seconds", {"generation": "2"}) > 0
    assert not pauses.installed()


def test_the_survivors_of_the_first_young_collections_after_start_up_are_frozen_and_no_more():
    freezes = WarmUpFreezes(2)
    kept: list[list[int]] = []
    frozen = [gc.get_freeze_count()]
    gc.disable()  # only the collections below: an automatic one would take a freeze of its own
    freezes.install()
    try:
        for _ in range(3):
            kept.extend([i] for i in range(1_000))  # survivors: alive through the collection
            gc.collect(0)
            frozen.append(gc.get_freeze_count())
    finally:
        freezes.uninstall()
        gc.unfreeze()
        gc.enable()

    assert frozen[1] >= frozen[0] + 1_000  # the first collection's survivors, frozen
    assert frozen[2] >= frozen[1] + 1_000  # the second's
    assert frozen[3] == frozen[2]          # spent: the third's stay where the collector put them
    assert freezes.left == 0
