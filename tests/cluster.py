"""paygate as an operator runs it on PostgreSQL: app processes (`paygate serve`) and a worker
(`paygate worker`), real subprocesses on loopback ports, sharing one database and Redis.

Each app process can be killed with SIGKILL and started again on a new port; the tests talk to
them over HTTP only, and read the database directly only to check what was kept.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from paygate.auth import TokenCodec
from tests.conftest import reset_postgres_schema
from tests.workers import create_database_if_missing

ROOT = Path(__file__).resolve().parents[1]
SECRET = "cluster-test-secret-long-enough-for-hs256-tokens"
GATEWAY_SECRET = "cluster-gateway-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def fresh_database(base_url: str, suffix: str) -> str:
    """A database of its own beside the suite's (`<name>_<suffix>`), created when missing, emptied.
    `base_url` is this xdist worker's database (conftest.PG_URL), so this one is the worker's too."""
    url = make_url(base_url)
    own = url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)
    await create_database_if_missing(own)
    await reset_postgres_schema(own)  # the suite's own reset: every schema paygate migrates
    return own


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    url: str | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@dataclass
class Cluster:
    database_url: str
    redis_url: str
    tmp: Path
    apps: list[Process] = field(default_factory=list)
    worker: Process | None = None
    tokens: TokenCodec = field(default_factory=lambda: TokenCodec(SECRET))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYGATE_", "PROMETHEUS_"))}
        return env | {"PAYGATE_DATABASE_URL": self.database_url, "PAYGATE_REDIS_URL": self.redis_url,
                      "PAYGATE_SECRET_KEY": SECRET, "PAYGATE_ENV": "test", "PAYGATE_RATE_LIMIT": "off",
                      "PAYGATE_GATEWAY_WEBHOOK_SECRET": GATEWAY_SECRET}

    def run(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "paygate.cli", *args], capture_output=True, text=True,
                              cwd=ROOT, env=self.env(), timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _spawn(self, name: str, *args: str) -> Process:
        log_path = self.tmp / f"{name}-{time.monotonic_ns()}.log"
        with log_path.open("w") as log:
            popen = subprocess.Popen([sys.executable, "-m", "paygate.cli", *args], cwd=ROOT, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return Process(name, popen, log_path)

    def start_apps(self, count: int = 2) -> None:
        """`count` app processes, each `paygate serve` with one uvicorn worker, up and answering."""
        started = []
        for n in range(count):
            port = free_port()
            process = self._spawn(f"app{n}", "serve", "--port", str(port), "--workers", "1")
            process.url = f"http://127.0.0.1:{port}"
            started.append(process)
        for process in started:
            _wait_ready(process)
        self.apps = started

    def start_worker(self) -> None:
        port = free_port()
        self.worker = self._spawn("worker", "worker", "--metrics-port", str(port))
        self.worker.url = f"http://127.0.0.1:{port}"

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.popen.pid, signal.SIGKILL)
        self.worker.popen.wait(10)

    def kill_apps(self) -> None:
        """SIGKILL: no shutdown, no cleanup, whatever each process was doing."""
        for process in self.apps:
            os.killpg(process.popen.pid, signal.SIGKILL)
        for process in self.apps:
            process.popen.wait(10)

    def stop(self) -> None:
        for process in [*self.apps, *([self.worker] if self.worker else [])]:
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in [*self.apps, *([self.worker] if self.worker else [])]:
            try:
                process.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(5)

    def urls(self) -> list[str]:
        return [process.url for process in self.apps if process.url]


def get_when_up(process: Process, path: str) -> httpx.Response:
    """GET `path` once the process listens: a worker started a moment ago may still be importing
    (its metrics server starts with it), and connecting too early is refused."""
    deadline = time.monotonic() + 60
    while True:
        assert process.popen.poll() is None, process.log()
        try:
            return httpx.get(f"{process.url}{path}", timeout=5)
        except httpx.TransportError:
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.1)


def _wait_ready(process: Process) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.popen.poll() is None, process.log()
        try:
            if httpx.get(f"{process.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, process.log()
        time.sleep(0.1)
