"""`paygate serve --workers 2` as an operator runs it: a real process tree on a loopback port.

Each worker is a process of its own (uvicorn spawns them); whatever the parent configured is not
inherited, so these check what comes out of the workers themselves.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.graphql import gql
from tests.test_payment_mutations import PAY, REFUND, _checked_out

ROOT = Path(__file__).resolve().parents[1]
SECRET = "serve-test-secret-long-enough-for-hs256-tokens"


@dataclass
class Serving:
    url: str
    process: subprocess.Popen
    log_path: Path

    def lines(self) -> list[dict]:
        """The JSON objects logged so far (stderr of the parent and its workers), and any other line."""
        parsed = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"not_json": line})
        return parsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
    return env | {"PAYGATE_DATABASE_URL": db_url, "PAYGATE_SECRET_KEY": SECRET, "PAYGATE_ENV": "test"} | extra


def serve(db_url: str, tmp: Path, *, workers: int = 2, **extra: str) -> Iterator[Serving]:
    port = _free_port()
    log_path = tmp / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "paygate.cli", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env=_env(db_url, **extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    serving = Serving(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(serving.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield serving
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _paygate(db_url: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "paygate.cli", *args], capture_output=True, text=True,
                            cwd=ROOT, env=_env(db_url), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('serve-db') / 'paygate.db'}"
    _paygate(url, "migrate")
    _paygate(url, "demo")
    return url


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, db_url) -> Iterator[Serving]:
    yield from serve(db_url, tmp_path_factory.mktemp("serve"))


def _logged(serving: Serving, request_id: str, *, timeout_s: float = 5) -> list[dict]:
    """The lines of one request, once its closing "request" line is written (it comes last)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [line for line in serving.lines() if line.get("request_id") == request_id]
        if any(line.get("msg") == "request" for line in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_every_worker_writes_a_json_request_line_carrying_the_request_id(two_workers):
    # A fresh connection per request, so both workers get some of them.
    request_ids = [f"serve-{uuid.uuid4().hex[:12]}" for _ in range(12)]
    for request_id in request_ids:
        with httpx.Client(base_url=two_workers.url) as http:
            assert http.get("/healthz", headers={"X-Request-Id": request_id}).status_code == 200

    logged = {request_id: _logged(two_workers, request_id) for request_id in request_ids}

    assert all(logged.values()), [rid for rid, lines in logged.items() if not lines]
    request_lines = [line for lines in logged.values() for line in lines if line["msg"] == "request"]
    assert len(request_lines) == len(request_ids)
    assert {(line["path"], line["status"], line["level"]) for line in request_lines} == {
        ("/healthz", 200, "info")}


def test_a_refused_graphql_request_is_logged_as_json_with_its_request_id(two_workers):
    request_id = f"refused-{uuid.uuid4().hex[:12]}"

    response = httpx.post(two_workers.url + "/graphql", json={"query": "{ noSuchField }"},
                          headers={"X-Request-Id": request_id})

    assert response.status_code == 200 and response.json()["errors"]
    messages = [line["msg"] for line in _logged(two_workers, request_id)]
    assert any("noSuchField" in m for m in messages) and "request" in messages


def test_a_worker_does_not_believe_forwarded_for_from_its_peer(two_workers):
    request_id = f"forwarded-{uuid.uuid4().hex[:12]}"

    httpx.get(two_workers.url + "/healthz",
              headers={"X-Request-Id": request_id, "X-Forwarded-For": "203.0.113.9"})

    [line] = [line for line in _logged(two_workers, request_id) if line["msg"] == "request"]
    assert line["client"] == "127.0.0.1"


async def test_staff_refund_dummy_payments_whichever_worker_took_them(two_workers, db_url):
    customer = _paygate(db_url, "token", "customer@example.com", "--role", "customer").strip()
    staff = _paygate(db_url, "token", "staff@example.com", "--role", "staff").strip()
    # No kept-alive connections: the requests spread over both workers.
    limits = httpx.Limits(max_keepalive_connections=0)

    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30, limits=limits) as http:
        refunds = []
        for _ in range(4):
            order = await _checked_out(http, _Tokens(customer), quantity=1)
            paid = await gql(http, PAY, {"order": order["id"], "number": "4242424242424242"}, token=customer)
            refund = await gql(http, REFUND, {"payment": paid["data"]["processPayment"]["id"], "amount": 100},
                               token=staff)
            refunds.append(refund["data"]["refund"])

    assert [(r["__typename"], r.get("status")) for r in refunds] == [("Refund", "SUCCEEDED")] * 4


class _Tokens:
    """The one token `_checked_out` asks the shop for."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, email: str) -> str:
        return self._token


def test_an_error_inside_a_worker_is_logged_as_json_with_its_traceback_and_request_id(tmp_path):
    # Nothing answers on port 9: every database call fails, and readiness logs why.
    unreachable = "postgresql+asyncpg://paygate@127.0.0.1:9/paygate"
    request_id = f"error-{uuid.uuid4().hex[:12]}"

    for serving in serve(unreachable, tmp_path):
        response = httpx.get(serving.url + "/readyz", headers={"X-Request-Id": request_id}, timeout=30)
        lines = _logged(serving, request_id)
        everything = serving.lines()

    assert response.status_code == 503
    # The job queue lives in the same database: its check fails too, each logged once.
    [error] = [line for line in lines if line["level"] == "error" and line.get("dependency") == "database"]
    assert [line.get("dependency") for line in lines if line["level"] == "error"] == ["database", "jobs"]
    assert error["msg"] == "readiness check: database did not answer" and "Traceback" in error["exc"]
    plain = [line["not_json"] for line in everything if "not_json" in line]
    assert [line for line in plain if not line.startswith("GraphiQL: ")] == []
