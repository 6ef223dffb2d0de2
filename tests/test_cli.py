"""The `paygate` command as an operator runs it: a real process against a real database file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paygate.auth import TokenCodec

ROOT = Path(__file__).resolve().parents[1]
SECRET = "cli-test-secret-long-enough-for-hs256-tokens"


def _paygate(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAYGATE_DATABASE_URL": db_url, "PAYGATE_SECRET_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "paygate.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    assert _paygate(url, "migrate").returncode == 0
    assert _paygate(url, "demo").returncode == 0
    return url


def test_token_prints_a_token_for_a_demo_user_by_email_or_id(demo_db):
    by_email = _paygate(demo_db, "token", "seller@example.com", "--role", "seller")
    by_id = _paygate(demo_db, "token", "1", "--role", "customer")

    seller = TokenCodec(SECRET).verify(by_email.stdout.strip())
    customer = TokenCodec(SECRET).verify(by_id.stdout.strip())
    assert (seller.email, seller.primary_role) == ("seller@example.com", "seller")
    assert (customer.user_id, customer.primary_role) == (1, "customer")


def test_token_for_an_unknown_user_fails_with_a_message(demo_db):
    result = _paygate(demo_db, "token", "nobody@example.com", "--role", "customer")

    assert result.returncode != 0 and "no user" in result.stderr


def test_demo_prints_a_token_per_demo_user_and_says_when_already_loaded(demo_db):
    result = _paygate(demo_db, "demo")

    assert "already loaded" in result.stdout
    assert sum("@example.com" in line for line in result.stdout.splitlines()) == 6


def test_worker_once_runs_every_job_and_exits(demo_db):
    result = _paygate(demo_db, "worker", "--once")

    assert result.returncode == 0 and "expire-reservations" in result.stdout


def test_production_refuses_to_start_with_the_development_secret(demo_db):
    env = {**os.environ, "PAYGATE_ENV": "production", "PAYGATE_DATABASE_URL": demo_db}
    env.pop("PAYGATE_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-m", "paygate.cli", "migrate"], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=60)

    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_the_app_builds_from_outside_the_repository(tmp_path):
    # As `paygate serve` runs it: the installed packages, not the working directory's.
    script = "from paygate.app import create_app; print('/orders/api' in {r.path for r in create_app().routes})"

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PAYGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
                            timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"  # rest_compat's __init__ ran: the seeds are mounted
