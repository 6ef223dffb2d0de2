"""The job engine and its transactional enqueue (`uow.jobs.defer`), on SQLite and PostgreSQL.

Jobs deferred in a unit of work exist once it commits and never otherwise; the engine (pgqueuer on
PostgreSQL, the embedded queue on SQLite) runs them, retries a failure with backoff, queues the
periodic ones, and several `paygate worker` processes never run one job twice.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from croniter import croniter

from db.job_queries import jobs_page
from db.uow import SqlUnitOfWork
from domain.errors import ProviderUnavailableError
from domain.orders.model import OrderStatus
from domain.payments.attempts import RECONCILE_PAYMENT_JOB
from domain.payments.provider import Providers
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from domain.payments.status import AttemptStatus
from domain.services import Services
from paygate.events import LocalBus
from paygate.jobs_engine import execute, registry_of, run_jobs
from paygate.worker import JOBS, TASKS, Backoff, Job, Task
from providers.dummy import DummyGateway
from tests.conftest import TEST_SECRET
from tests.graphql import gql
from tests.payments_fixtures import POLICY, VISA, customer, order_for, staff
from tests.test_serve import serve
from tests.test_worker import LossyNetwork, at

ROOT = Path(__file__).resolve().parents[1]


def services_of(db, clock=None, provider=None) -> Services:
    providers = Providers([provider or DummyGateway()])
    return Services(lambda: SqlUnitOfWork(db), providers, POLICY, LocalBus(), clock=clock or at(timedelta(0)))


async def _jobs(db, **filters):
    records, total = await jobs_page(db, limit=100, **filters)
    assert total == len(records)
    return records


async def _until(condition, timeout_s: float = 30.0, every_s: float = 0.05):
    """Poll `condition` (async, answering a value or None) until it answers; a bounded wait."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (value := await condition()) is not None:
            return value
        await asyncio.sleep(every_s)
    raise AssertionError(f"not reached within {timeout_s} s")


class Engine:
    """The job engine of this database running in this process (as inside `paygate serve`)."""

    def __init__(self, db, jobs=(), tasks=(), retry: Backoff = Backoff()):
        self.db, self.jobs, self.tasks, self.retry = db, jobs, tasks, retry
        self.stop = asyncio.Event()

    async def __aenter__(self):
        self.task = asyncio.create_task(run_jobs(self.db, services_of(self.db), self.stop, jobs=self.jobs,
                                                 tasks=self.tasks, retry=self.retry, poll_s=0.05))
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


# --- enqueueing in the unit of work's transaction -------------------------------------------------


async def test_a_job_deferred_in_a_unit_of_work_that_rolls_back_is_never_queued(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    async with SqlUnitOfWork(db) as uow:  # left without committing: everything in it is undone
        stored = await uow.orders.get(order.id, for_update=True)
        stored.status = OrderStatus.CANCELED
        await uow.orders.save(stored)
        await uow.jobs.defer("reconcile-payment", {"payment_id": 1})

    assert await _jobs(db) == []
    async with SqlUnitOfWork(db) as uow:
        assert (await uow.orders.get(order.id)).status is OrderStatus.PENDING_PAYMENT


async def test_a_job_deferred_in_a_unit_of_work_that_commits_is_queued_exactly_once(db):
    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer("reconcile-payment", {"payment_id": 7}, delay_s=60)
        await uow.commit()

    [job] = await _jobs(db)
    assert (job.name, job.state, job.attempts, job.last_error) == ("reconcile-payment", "queued", 0, None)
    assert job.run_after > datetime.now(UTC) + timedelta(seconds=50)


async def test_a_job_deferred_under_a_key_is_not_queued_again_while_it_waits(db):
    for _ in range(3):
        async with SqlUnitOfWork(db) as uow:
            await uow.jobs.defer("reconcile-payment", {"payment_id": 7}, key="reconcile-payment:7")
            await uow.commit()

    assert [job.name for job in await _jobs(db)] == ["reconcile-payment"]


async def test_a_deferred_job_runs_once_with_its_arguments(db):
    seen: list[Mapping[str, object]] = []

    async def remember(_db, _services, args) -> None:
        seen.append(dict(args))

    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer("remember", {"payment_id": 7, "note": "é"})
        await uow.commit()
    async with Engine(db, tasks=(Task("remember", remember),)):
        await _until(lambda: _state(db, "remember", "successful"))

    assert seen == [{"payment_id": 7, "note": "é"}]
    [job] = await _jobs(db)
    assert (job.state, job.attempts, job.last_error) == ("successful", 1, None)


async def _state(db, name: str, state: str):
    done = [job for job in await _jobs(db, name=name) if job.state == state]
    return done or None


async def test_a_lost_refund_answer_queues_its_reconciliation_with_the_unknown_attempt(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    network = LossyNetwork(DummyGateway(), lose={"refund"})
    paid = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                           Providers([network]), POLICY)

    _, attempt = await refund_payment(RefundPayment(staff(shop), paid.id, None), SqlUnitOfWork(db),
                                             Providers([network]), POLICY)
    [job] = await _jobs(db)
    await execute(db, services_of(db, at(timedelta(minutes=2)), network), registry_of(JOBS, TASKS), job.name,
                  {"payment_id": paid.id}, job.id)

    assert attempt.status is AttemptStatus.UNKNOWN
    assert (job.name, job.state) == (RECONCILE_PAYMENT_JOB, "queued")
    assert job.run_after > datetime.now(UTC) + timedelta(seconds=60)
    async with SqlUnitOfWork(db) as uow:
        assert (await uow.payments.get(paid.id)).attempt(2).status is AttemptStatus.SUCCEEDED


# --- retries, periodic jobs -----------------------------------------------------------------------


async def test_a_failing_job_is_retried_with_growing_waits_and_ends_failed_with_its_error(db):
    tries: list[float] = []

    async def down(_db, _services, _args) -> None:
        tries.append(time.monotonic())
        raise ProviderUnavailableError("the gateway is down")

    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer("always-down", {"payment_id": 1})
        await uow.commit()
    async with Engine(db, tasks=(Task("always-down", down),), retry=Backoff(tries=3, first_s=0.4, max_s=5)):
        [job] = await _until(lambda: _state(db, "always-down", "failed"))

    waits = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert len(tries) == 3 and job.attempts == 3
    assert waits[0] >= 0.4 and waits[1] >= 0.8
    assert job.last_error == "ProviderUnavailableError: the gateway is down"


async def test_a_job_that_fails_once_is_retried_and_succeeds(db):
    tries: list[int] = []

    async def flaky(_db, _services, _args) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise ProviderUnavailableError("timed out")

    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer("flaky", None)
        await uow.commit()
    async with Engine(db, tasks=(Task("flaky", flaky),), retry=Backoff(tries=3, first_s=0.2)):
        [job] = await _until(lambda: _state(db, "flaky", "successful"))

    assert len(tries) == 2 and job.attempts == 2
    assert job.last_error == "ProviderUnavailableError: timed out"


async def test_periodic_jobs_run_at_start_up_and_then_every_interval(db):
    runs: list[datetime] = []

    async def tick(_db, _services, now: datetime) -> int:
        runs.append(now)
        return 0

    async with Engine(db, jobs=(Job("tick", tick, every_s=1),)):
        await _until(lambda: _at_least(runs, 3), timeout_s=10)

    done = await _jobs(db, name="tick", states=("successful",))
    assert len(done) >= 3 and all(job.attempts == 1 for job in done)


async def _at_least(runs: list, count: int):
    return True if len(runs) >= count else None


async def test_the_registered_jobs_have_distinct_names_and_schedulable_intervals():
    from paygate.jobs_engine import cron

    registry = registry_of(JOBS, TASKS)

    assert len(registry) == len(JOBS) + len(TASKS)
    assert all(croniter.is_valid(cron(job.every_s)) for job in JOBS)
    assert [cron(s) for s in (15, 60, 300, 3600)] == ["* * * * * */15", "*/1 * * * *", "*/5 * * * *", "0 * * * *"]
    with pytest.raises(ValueError):
        cron(7)


QUERY = """query($s: [BackgroundJobState!]) {
  backgroundJobs(first: 10, filter: {state: $s}) {
    totalCount edges { node { legacyId name state attempts lastError runAfter createdAt updatedAt } } } }"""


async def test_staff_see_a_job_that_failed_for_good_with_its_tries_and_error_and_customers_may_not(
        db, shop, client):
    async def down(_db, _services, _args) -> None:
        raise ProviderUnavailableError("card 4242 4242 4242 4242 refused: gateway down")

    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer("always-down", {"payment_id": 1})
        await uow.commit()
    async with Engine(db, tasks=(Task("always-down", down),), retry=Backoff(tries=2, first_s=0.1)):
        await _until(lambda: _state(db, "always-down", "failed"))

    seen = await gql(client, QUERY, {"s": ["FAILED"]}, token=shop.token("staff@example.com"))
    admin = await gql(client, QUERY, token=shop.token("admin@example.com"))
    refused = await gql(client, QUERY, token=shop.token("customer@example.com"), expect_status=403)

    [job] = [edge["node"] for edge in seen["data"]["backgroundJobs"]["edges"]]
    assert (job["name"], job["state"], job["attempts"], job["runAfter"]) == ("always-down", "FAILED", 2, None)
    assert job["lastError"] == "ProviderUnavailableError: card **** **** **** **** refused: gateway down"
    assert admin["data"]["backgroundJobs"]["totalCount"] == 1
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_on_sqlite_paygate_serve_runs_deferred_and_periodic_jobs_itself_with_no_worker(
        db, shop, database_url, tmp_path):
    if not db.is_sqlite:
        pytest.skip("on PostgreSQL, `paygate worker` processes run the jobs (the burst test below)")
    async with SqlUnitOfWork(db) as uow:
        await uow.jobs.defer(RECONCILE_PAYMENT_JOB, {"payment_id": 999_999})
        await uow.commit()
    staff_token = shop.token("staff@example.com")

    running = serve(database_url, tmp_path, workers=1, PAYGATE_SECRET_KEY=TEST_SECRET, PAYGATE_RATE_LIMIT="off")
    serving = next(running)
    try:
        async with httpx.AsyncClient(base_url=serving.url, timeout=10) as http:
            async def done(name: str):
                body = await gql(http, "query($n: String) { backgroundJobs(filter: {name: $n, state: [SUCCESSFUL]}) "
                                 "{ totalCount } }", {"n": name}, token=staff_token)
                return body["data"]["backgroundJobs"]["totalCount"] or None

            deferred = await _until(lambda: done(RECONCILE_PAYMENT_JOB), every_s=0.2)
            periodic = await _until(lambda: done("expire-reservations"), every_s=0.2)
    finally:
        running.close()  # SIGINT, and waits for the server to stop

    assert deferred == 1 and periodic >= 1


async def test_successful_jobs_are_forgotten_after_the_history_period_and_failed_ones_kept(db):
    from db.jobs import purge_history

    async def ok(_db, _services, _args) -> None:
        return None

    async def down(_db, _services, _args) -> None:
        raise ProviderUnavailableError("down")

    async with SqlUnitOfWork(db) as uow:
        for name in ("ok", "ok", "down"):
            await uow.jobs.defer(name, None)
        await uow.commit()
    async with Engine(db, tasks=(Task("ok", ok), Task("down", down)), retry=Backoff(tries=1)):
        await _until(lambda: _all_ended(db, 3))
    old, young = sorted(job.id for job in await _jobs(db, name="ok"))
    failed = (await _jobs(db, name="down"))[0].id
    await _age(db, (old, failed), timedelta(days=15))

    forgotten = await purge_history(db, datetime.now(UTC) - timedelta(days=14))

    assert sorted(job.id for job in await _jobs(db)) == sorted([young, failed])
    assert forgotten >= 1


async def _all_ended(db, count: int):
    ended = [job for job in await _jobs(db) if job.state in ("successful", "failed")]
    return True if len(ended) == count else None


async def _age(db, job_ids, by: timedelta) -> None:
    from sqlalchemy import text

    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for job_id in job_ids:
                await conn.execute(text("UPDATE job_queue SET updated_at = :at WHERE id = :id"),
                                   {"at": datetime.now(UTC) - by, "id": job_id})
        else:
            await conn.exec_driver_sql("UPDATE jobs.pgqueuer_log SET created = created - $1::interval WHERE job_id = ANY($2::bigint[])",
                                       (by, list(job_ids)))


# --- several worker processes ---------------------------------------------------------------------


async def _start_worker(database_url: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PAYGATE_DATABASE_URL": database_url, "PAYGATE_SECRET_KEY": TEST_SECRET}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "paygate.cli", "worker", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def _jobs_done(stderr: bytes, name: str) -> list[int]:
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    return [line["job_id"] for line in lines if line.get("msg") == "job done" and line.get("job") == name]


async def _read_all(stream: asyncio.StreamReader, into: bytearray) -> None:
    while chunk := await stream.read(65536):
        into.extend(chunk)


async def test_two_worker_processes_run_a_burst_of_jobs_with_none_run_twice(db, database_url):
    if db.is_sqlite:
        pytest.skip("on SQLite the jobs run inside `paygate serve`, one process (test_worker.py)")
    workers = [await _start_worker(database_url) for _ in range(2)]
    logs = [bytearray(), bytearray()]
    readers = [asyncio.create_task(_read_all(stream, into)) for worker, into in zip(workers, logs, strict=True)
               for stream in (worker.stdout, worker.stderr)]  # stdout too, or a full pipe stalls it
    deferred = 0

    async def both_took_part():
        # A worker that started late (imports take seconds on a loaded machine) finds a burst
        # already drained by the other: keep deferring batches until both have run some.
        nonlocal deferred
        if all(_jobs_done(bytes(log), RECONCILE_PAYMENT_JOB) for log in logs):
            return True
        async with SqlUnitOfWork(db) as uow:
            for n in range(20):  # payments that don't exist: each job reads, finds nothing, ends
                await uow.jobs.defer(RECONCILE_PAYMENT_JOB, {"payment_id": 1_000_000 + deferred + n})
            await uow.commit()
        deferred += 20
        return None

    try:
        await _until(both_took_part, timeout_s=90, every_s=0.2)
        await _until(lambda: _burst_done(db, deferred), timeout_s=60, every_s=0.2)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers), *readers), 30)

    assert [w.returncode for w in workers] == [0, 0], [bytes(log).decode()[-2000:] for log in logs]
    burst = {job.id for job in await _jobs_all(db, RECONCILE_PAYMENT_JOB)}
    ran = [_jobs_done(bytes(log), RECONCILE_PAYMENT_JOB) for log in logs]
    assert len(burst) == deferred >= 20
    assert sorted(ran[0] + ran[1]) == sorted(burst)  # every job ran, and none twice
    assert ran[0] and ran[1]  # both processes took part
    assert {job.attempts for job in await _jobs_all(db, RECONCILE_PAYMENT_JOB)} == {1}


async def _jobs_all(db, name: str):
    records, before, found = [], None, True
    while found:
        page, _ = await jobs_page(db, name=name, before_id=before, limit=100)
        records += page
        found = bool(page)
        before = page[-1].id if page else None
    return records


async def _at_least_done(db, count: int):
    _, total = await jobs_page(db, states=("successful",), limit=1)
    return True if total >= count else None


async def _burst_done(db, count: int):
    _, total = await jobs_page(db, name=RECONCILE_PAYMENT_JOB, states=("successful",), limit=1)
    return True if total >= count else None
