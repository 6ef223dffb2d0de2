"""The servers under test, each in its own process on a free loopback port.

paygate runs exactly as `paygate serve` runs it (JSON access logs, one uvicorn worker); the
baseline is bench/baseline.py under the same uvicorn, auto-selected loop and HTTP parser alike
(uvloop, httptools). Also here: the CPU accounting of processes and of the machine, from /proc.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """The whole process tree's: `--workers N` serves from child processes of uvicorn's."""
        return sum(process_cpu_seconds(pid) for pid in process_tree(self.pid))


def worker_pids(server: Server) -> list[int]:
    """The processes that serve requests: uvicorn's own with one worker; with `--workers N` its
    N children (multiprocessing's spawned workers, not its resource tracker)."""
    children = [pid for pid in process_tree(server.pid) if pid != server.pid]
    workers = []
    for pid in children:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "spawn_main" in title:
            workers.append(pid)
    return workers or [server.pid]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(pid: int) -> list[int]:
    """pid and its descendants alive now (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
        children.setdefault(ppid, []).append(int(proc.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds by pid of PostgreSQL's own processes (writer, checkpointer…) and of the backends
    serving `database`; the backends of other databases (someone's test suite) are left out."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = (proc / "stat").read_text()
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name != "postgres":
            continue
        # A backend's title is "postgres: 15/main: USER DATABASE HOST(PORT) STATE"; an autovacuum
        # worker's "postgres: 15/main: autovacuum worker DATABASE": another database's (someone's
        # test suite churning its tables) is theirs, not ours.
        is_backend = "(" in title or "[local]" in title
        if "autovacuum worker" in title:
            ours = title.rstrip().endswith(f" {database}")
        else:
            ours = not is_backend or f" {database} " in title
        if ours:
            found[int(proc.name)] = _run_seconds(proc, rest)
    return found


def _run_seconds(proc: Path, stat_rest: str) -> float:
    """Time on a CPU: /proc/PID/schedstat in nanoseconds (a backend's round trip is tens of µs,
    a clock tick 10 ms), /proc/PID/stat's ticks where schedstat is missing."""
    try:
        return int((proc / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        fields = stat_rest.split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_since(database: str, before: dict[int, float]) -> float:
    """PostgreSQL's CPU seconds for `database` since `before` (backends that exited are not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu(database).items())


def wait_for_quiet(threshold_cores: float = 0.3, max_wait_s: float = 10.0) -> float:
    """Wait (bounded) until the machine is nearly idle; return the busy cores last seen."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy_before, total_before = machine_busy_seconds()
        time.sleep(1.0)
        busy_after, total_after = machine_busy_seconds()
        busy = (busy_after - busy_before) / max(total_after - total_before, 1e-9) * (os.cpu_count() or 1)
        if busy < threshold_cores or time.monotonic() >= deadline:
            return busy


def _launch(name: str, argv: list[str], env: dict[str, str], log_dir: Path, port: int,
            ready_path: str) -> Server:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        # Not the caller's PROMETHEUS_MULTIPROC_DIR: `paygate serve --workers N` makes its own.
        inherited = {k: v for k, v in os.environ.items() if not k.lower().startswith("prometheus_")}
        process = subprocess.Popen(argv, cwd=REPO, env={**inherited, **env}, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, port, log_path)
    try:
        wait_ready(server, ready_path)
    except Exception:
        stop(server)
        raise
    return server


def paygate_env(database_url: str, secret: str) -> dict[str, str]:
    """paygate's settings for a bench run: production, with the rate limit off and the dummy
    gateway on (production offers it only when asked). The risk checks stay on (they are part of
    a payment's cost), with their velocity limits out of reach: every flow pays with the same
    test card from the same address, and at 70 flows a second the default limit of 1,000
    attempts per card in 10 minutes is passed within the run, which then holds every payment
    for review (failed flows, not a payment's cost)."""
    unreachable = str(10**9)
    return {"PAYGATE_DATABASE_URL": database_url, "PAYGATE_ENV": "production", "PAYGATE_SECRET_KEY": secret,
            "PAYGATE_RATE_LIMIT": "off", "PAYGATE_DUMMY_GATEWAY": "on",
            "PAYGATE_RISK_BUYER_ATTEMPTS": unreachable, "PAYGATE_RISK_CARD_ATTEMPTS": unreachable,
            "PAYGATE_RISK_ADDRESS_ATTEMPTS": unreachable}


def start_paygate(env: dict[str, str], log_dir: Path, workers: int = 1) -> Server:
    """`paygate serve`, exactly as an operator runs it, with its JSON logs going to a file. With
    several workers, /healthz answering means one is up: wait until the metrics show them all."""
    port = free_port()
    argv = [sys.executable, "-m", "paygate.cli", "serve", "--host", HOST, "--port", str(port),
            "--workers", str(workers)]
    server = _launch(f"paygate-{port}", argv, env, log_dir, port, "/healthz")
    deadline = time.monotonic() + 60
    while _live_workers(server) < workers:
        if time.monotonic() > deadline:
            stop(server)
            raise TimeoutError(f"paygate did not start {workers} workers; see {server.log_path}")
        time.sleep(0.2)
    return server


def _live_workers(server: Server) -> int:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return sum(1 for line in text.splitlines() if line.startswith("paygate_process_start_time_seconds"))


def start_baseline(env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.baseline:create_app", "--factory", "--host", HOST,
            "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return _launch("baseline", argv, env, log_dir, port, "/bare")


def wait_ready(server: Server, path: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}; "
                               f"see {server.log_path}")
        conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise TimeoutError(f"{server.name} did not answer GET {path} within {timeout_s} s; see {server.log_path}")


def stop(server: Server, timeout_s: float = 20.0) -> None:
    """SIGINT first (uvicorn's graceful shutdown), then SIGKILL."""
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)
