"""The measurement behind README "Background jobs: why pgqueuer": pgqueuer 1.6.0 against
procrastinate 3.10.0 on the same PostgreSQL, doing what paygate needs of a job engine.

  (1) enqueue one job in the transaction of a business write (an INSERT), 1,000 transactions:
      pgqueuer on the asyncpg connection that did the write (what db/jobs.py does through
      SQLAlchemy's); procrastinate through its own API, which takes a connection from its own
      psycopg pool: not the write's transaction (and so not what we need; shown for its cost)
  (2) work off 1,000 queued no-op jobs with one worker, from enqueue of the first to the last done

Not part of `make bench` (procrastinate is not a dependency of paygate). To run it:
    python -m venv /tmp/jobs && /tmp/jobs/bin/pip install pgqueuer==1.6.0 procrastinate==3.10.0
    /tmp/jobs/bin/python bench/job_engines.py postgresql://postgres@127.0.0.1:5432/<scratch db>
It creates and drops its own schemas (bench_pgq, and procrastinate's objects in bench_pro).
"""
from __future__ import annotations

import asyncio
import sys
import time

N = 1000


async def pgqueuer_side(dsn: str) -> tuple[float, float]:
    import asyncpg
    from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
    from pgqueuer.adapters.persistence.qb import (
        QueryBuilderEnvironment,
        QueryQueueBuilder,
        QuerySchedulerBuilder,
    )
    from pgqueuer.adapters.persistence.queries import Queries
    from pgqueuer.core.qm import QueueManager
    from pgqueuer.domain.settings import DBSettings
    from pgqueuer.domain.types import QueueExecutionMode

    settings = DBSettings(db_schema="bench_pgq")
    conn = await asyncpg.connect(dsn)
    await conn.execute("DROP SCHEMA IF EXISTS bench_pgq CASCADE")
    await conn.execute(QueryBuilderEnvironment(settings).build_install_query())
    await conn.execute("CREATE TABLE bench_pgq.business (id serial PRIMARY KEY, note text)")

    def queries(driver):
        return Queries(driver, qbe=QueryBuilderEnvironment(settings), qbq=QueryQueueBuilder(settings),
                       qbs=QuerySchedulerBuilder(settings))

    in_txn = queries(AsyncpgDriver(conn))
    started = time.perf_counter()
    for n in range(N):
        async with conn.transaction():
            await conn.execute("INSERT INTO bench_pgq.business (note) VALUES ($1)", f"order {n}")
            await in_txn.enqueue("noop", str(n).encode())
    enqueue_ms = (time.perf_counter() - started) * 1000 / N

    worker_conn = await asyncpg.connect(dsn)
    driver = AsyncpgDriver(worker_conn)
    qm = QueueManager(queries(driver), settings.channel)
    done = 0

    @qm.entrypoint("noop")
    async def noop(_job) -> None:
        nonlocal done
        done += 1

    started = time.perf_counter()
    await qm.run(mode=QueueExecutionMode.drain, batch_size=10)
    drain_s = time.perf_counter() - started
    assert done == N, done
    await conn.execute("DROP SCHEMA bench_pgq CASCADE")
    await conn.close()
    await worker_conn.close()
    return enqueue_ms, drain_s


async def procrastinate_side(dsn: str) -> tuple[float, float]:
    import psycopg
    from procrastinate import App, PsycopgConnector
    from procrastinate.schema import SchemaManager

    setup = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await setup.execute("DROP SCHEMA IF EXISTS bench_pro CASCADE")
    await setup.execute("CREATE SCHEMA bench_pro")
    options = "-c search_path=bench_pro"
    app = App(connector=PsycopgConnector(conninfo=dsn, kwargs={"options": options}))
    done = 0

    @app.task(name="noop")
    async def noop(n: int) -> None:
        nonlocal done
        done += 1

    async with app.open_async():
        await SchemaManager(app.connector).apply_schema_async()
        business = await psycopg.AsyncConnection.connect(dsn, options=options)
        await business.execute("CREATE TABLE business (id serial PRIMARY KEY, note text)")
        await business.commit()
        started = time.perf_counter()
        for n in range(N):
            async with business.transaction():
                await business.execute("INSERT INTO business (note) VALUES (%s)", (f"order {n}",))
                await noop.defer_async(n=n)  # its own pooled connection: outside this transaction
        enqueue_ms = (time.perf_counter() - started) * 1000 / N
        started = time.perf_counter()
        await app.run_worker_async(wait=False, concurrency=10, install_signal_handlers=False)
        drain_s = time.perf_counter() - started
        await business.close()
    assert done == N, done
    await setup.execute("DROP SCHEMA bench_pro CASCADE")
    await setup.close()
    return enqueue_ms, drain_s


async def main(dsn: str) -> None:
    pgq = await pgqueuer_side(dsn)
    pro = await procrastinate_side(dsn)
    print(f"{'':14} {'enqueue in a write txn':>24} {'drain 1,000 no-op jobs':>24}")
    print(f"{'pgqueuer':14} {pgq[0]:>21.2f} ms {pgq[1]:>22.2f} s   (same transaction)")
    print(f"{'procrastinate':14} {pro[0]:>21.2f} ms {pro[1]:>22.2f} s   (its own connection)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
