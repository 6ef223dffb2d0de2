"""Each pytest-xdist worker's own databases (tests/workers.py): two workers sharing one would empty
each other's tables and flush each other's Redis mid-test."""
from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, REDIS_URL
from tests.workers import WORKER, postgres_url_for, redis_url_for

BASE_PG = "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/test"


def test_a_serial_run_keeps_the_databases_it_is_given():
    assert postgres_url_for(BASE_PG, "") == BASE_PG
    assert redis_url_for("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"


def test_each_worker_has_a_postgresql_database_of_its_own_on_the_same_server():
    urls = [make_url(postgres_url_for(BASE_PG, w)) for w in ("gw0", "gw1")]
    assert [u.database for u in urls] == ["test_gw0", "test_gw1"]
    assert {(u.host, u.port, u.username, u.password) for u in urls} == {("127.0.0.1", 5432, "postgres", "secret")}


@pytest.mark.parametrize(("base", "numbers"), [
    ("redis://127.0.0.1:6379/15", [15, 14, 13]),  # the default: counts down, clear of 0
    ("redis://127.0.0.1:6379/1", [1, 0, 15]),     # wraps within Redis' 16 databases
    ("redis://127.0.0.1:6379", [0, 15, 14]),      # no number is database 0
])
def test_each_worker_has_a_redis_database_of_its_own(base, numbers):
    assert [redis_url_for(base, f"gw{n}") for n in range(3)] == [f"redis://127.0.0.1:6379/{n}" for n in numbers]


def test_the_redis_url_keeps_its_password_and_options():
    assert redis_url_for("redis://:pw@h:6379/6?protocol=3", "gw1") == "redis://:pw@h:6379/5?protocol=3"


def test_this_process_uses_its_workers_databases(database_url):
    """What the suite actually runs on: in a worker, the PostgreSQL database named for it."""
    if database_url.startswith("postgresql"):
        assert database_url == PG_URL
    if WORKER:
        assert make_url(PG_URL).database.endswith(f"_{WORKER}")
        assert REDIS_URL == redis_url_for(os.environ.get("PAYGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
