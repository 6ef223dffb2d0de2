"""PostgreSQL's own benchmark, TPC-B-like, as the ceiling for a write flow on this machine.

`pgbench -i` fills a scratch database (scale = client count, as pgbench's documentation asks, so
that clients don't all queue on one branch row), then `pgbench -c N -T secs -M prepared` runs
its default script (three UPDATEs, a SELECT and an INSERT in one transaction). Latencies come
from its per-transaction log (-l), in microseconds.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.load import percentile

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/paygate_pgbench"


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    transactions: int
    p50_ms: float
    p99_ms: float
    command: str


def available() -> bool:
    return shutil.which("pgbench") is not None


def _connection_args(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres"]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return args, env


def _run(argv: list[str], env: dict[str, str], timeout_s: float) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def initialize(url: str, scale: int) -> None:
    conn, env = _connection_args(url)
    _run(["pgbench", "-i", "-q", "-s", str(scale), *conn, make_url(url).database], env, timeout_s=300)


def run(url: str, clients: int, threads: int, duration_s: int) -> PgbenchResult:
    conn, env = _connection_args(url)
    with tempfile.TemporaryDirectory(prefix="paygate-pgbench-") as tmp:
        argv = ["pgbench", "-c", str(clients), "-j", str(threads), "-T", str(duration_s), "-M", "prepared",
                "-l", f"--log-prefix={Path(tmp) / 'tx'}", *conn, make_url(url).database]
        output = _run(argv, env, timeout_s=duration_s + 120)
        latencies_us = []
        for log in Path(tmp).glob("tx*"):
            for line in log.read_text().splitlines():
                latencies_us.append(int(line.split()[2]))
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{output}")
    latencies_us.sort()
    shown = " ".join(a for a in argv if not a.startswith("--log-prefix"))
    return PgbenchResult(tps=float(found.group(1)), transactions=len(latencies_us),
                         p50_ms=percentile(latencies_us, 0.50) / 1000,
                         p99_ms=percentile(latencies_us, 0.99) / 1000, command=shown)
