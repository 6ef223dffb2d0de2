"""What each pytest-xdist worker has of its own, so that `make test` can run the suite on two cores.

pytest-xdist names its workers `gw0`, `gw1`, … in PYTEST_XDIST_WORKER; a serial run (`-p no:xdist`,
`-n 0`) has none and keeps the settings as given. A worker gets:

  PostgreSQL  the database named in PAYGATE_TEST_DATABASE_URL, suffixed: `test` → `test_gw0`,
              created when missing (the suite drops and migrates its schema, and empties its tables
              before every test: two workers on one database would empty each other's)
  Redis       the database number of PAYGATE_TEST_REDIS_URL minus the worker's index (15 → 15, 14),
              wrapping within 0–15: the suite flushes it, and counting down from the default 15
              keeps clear of 0, where a developer's own data usually lives
  SQLite      its files under tmp_path_factory, which xdist already gives each worker its own

Databases the tests make beside the suite's (`<name>_procs`, `<name>_crash`) are named from the
worker's, so they are the worker's own too.
"""
from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from db.engine import make_engine

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "" in a serial run
REDIS_DATABASES = 16  # Redis' default `databases`


def worker_index(worker: str = WORKER) -> int:
    """0 for `gw0` and for a serial run."""
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else 0


def postgres_url_for(base_url: str, worker: str = WORKER) -> str:
    if not worker:
        return base_url
    url = make_url(base_url)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def redis_url_for(base_url: str, worker: str = WORKER) -> str:
    if not worker:
        return base_url
    url = urlsplit(base_url)
    number = url.path.strip("/")
    own = ((int(number) if number.isdigit() else 0) - worker_index(worker)) % REDIS_DATABASES
    return urlunsplit(url._replace(path=f"/{own}"))


async def create_database_if_missing(url: str) -> None:
    """CREATE DATABASE for the URL's database, issued from the server's `postgres` database with
    the URL's own credentials (CREATE DATABASE can't run inside a transaction: autocommit)."""
    target = make_url(url)
    admin = make_engine(target.set(database="postgres").render_as_string(hide_password=False), pool_size=1)
    try:
        async with asyncio.timeout(10), admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            exists = "SELECT 1 FROM pg_database WHERE datname = $1"
            if (await conn.exec_driver_sql(exists, (target.database,))).first() is None:
                try:
                    await conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
                except Exception:
                    # Another process made it between our look and our CREATE: fine if it's there now.
                    if (await conn.exec_driver_sql(exists, (target.database,))).first() is None:
                        raise
    finally:
        await admin.dispose()
