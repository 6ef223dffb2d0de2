"""What PostgreSQL spends per flow, statement by statement (`python -m bench.pgcost`).

Runs the flows of (2) against a fresh `paygate serve` on the bench database (seeded by a bench
run, or with `--seed`) and measures PostgreSQL's side two ways:

- **in total**, from /proc: the CPU of the bench database's backends (`/proc/PID/schedstat`,
  nanoseconds) and of PostgreSQL's own processes (WAL writer, checkpointer, autovacuum …) apart,
  per completed flow;
- **by statement** (`--statements`), from the server's log: for the duration of the run the bench
  database (and only it: `ALTER DATABASE … SET`, reset afterwards) has `log_statement_stats` and
  `log_statement = 'all'`, so every message a backend handles (Parse, Bind, Execute, a simple
  query) is logged with the CPU it took (getrusage, user + system). Parse and Bind are charged to
  the Execute that follows them on the same backend. What the backends spend between messages
  (reading the next one, the idle loop, statistics flushed when idle) is the difference between
  the total and the sum, shown as "between messages". Logging itself costs the backends CPU:
  read the by-statement figures as shares, the total from a run without `--statements`.

Needs the server's log file readable (`--log`, Debian's default path by default).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench import load as loadgen
from bench import seed, server
from bench.seed import asyncpg_dsn
from paygate.auth import TokenCodec

DEFAULT_LOG = "/var/log/postgresql/postgresql-15-main.log"
LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (?:\S+ )?(LOG|DETAIL|STATEMENT|ERROR|WARNING):  (.*)$")
USAGE = re.compile(r"!\s+([0-9.]+) s user, ([0-9.]+) s system, ([0-9.]+) s elapsed")


def schedstat_ns(pid: int) -> int:
    """Nanoseconds the process has run on a CPU (Linux /proc/PID/schedstat); 0 once it's gone."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def postgres_pids(database: str) -> tuple[list[int], list[int]]:
    """(backends of `database`, PostgreSQL's own processes): the other databases' backends left out."""
    backends, own = [], []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            name = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if name != "postgres" or not title.startswith("postgres"):
            continue
        if "(" in title or "[local]" in title:
            if f" {database} " in title:
                backends.append(int(proc.name))
        elif "autovacuum worker" not in title or title.rstrip().endswith(f" {database}"):
            own.append(int(proc.name))  # not another database's autovacuum (bench/server.py)
    return backends, own


@dataclass
class Cpu:
    backends: dict[int, int]
    own: dict[int, int]

    @classmethod
    def now(cls, database: str) -> Cpu:
        backends, own = postgres_pids(database)
        return cls({p: schedstat_ns(p) for p in backends}, {p: schedstat_ns(p) for p in own})

    def since(self, before: Cpu) -> tuple[float, float]:
        """(backends, own processes) CPU seconds since `before`; backends born meanwhile count whole."""
        def delta(now: dict[int, int], then: dict[int, int]) -> float:
            return sum(ns - then.get(pid, 0) for pid, ns in now.items()) / 1e9
        return delta(self.backends, before.backends), delta(self.own, before.own)


@dataclass
class Statement:
    calls: int = 0
    parse: float = 0.0     # CPU seconds: Parse messages charged to this statement
    bind: float = 0.0
    execute: float = 0.0   # Execute, or the whole of a simple query

    @property
    def total(self) -> float:
        return self.parse + self.bind + self.execute


@dataclass
class Backend:
    pending_parse: float = 0.0
    pending_bind: float = 0.0
    last_kind: str | None = None       # the statistics line seen, waiting for its DETAIL
    current: str | None = None         # text of the statement being executed


def normalise(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(r"'(?:[^']|'')*'", "'?'", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    return sql


@dataclass
class LogTally:
    statements: dict[str, Statement] = field(default_factory=lambda: defaultdict(Statement))
    backends: dict[int, Backend] = field(default_factory=lambda: defaultdict(Backend))

    def feed(self, pids: set[int], lines: list[str]) -> None:
        detail: list[str] = []
        pid = None
        for raw in [*lines, ""]:
            m = LINE.match(raw)
            if m is None and raw and detail:
                detail.append(raw)  # continuation of a multi-line DETAIL
                continue
            if detail and pid is not None:
                self._detail(pid, "\n".join(detail))
            detail = []
            if m is None:
                continue
            pid, kind, text = int(m.group(1)), m.group(2), m.group(3)
            if pid not in pids:
                pid = None
                continue
            backend = self.backends[pid]
            if kind == "LOG":
                if text.endswith("STATISTICS"):
                    backend.last_kind = text
                elif text.startswith("execute ") or text.startswith("statement: "):
                    sql = text.split(": ", 1)[1]
                    backend.current = normalise(sql)
            elif kind == "DETAIL":
                detail = [text]

    def _detail(self, pid: int, text: str) -> None:
        backend = self.backends[pid]
        found = USAGE.search(text)
        if found is None or backend.last_kind is None:
            return
        cpu = float(found.group(1)) + float(found.group(2))
        kind, backend.last_kind = backend.last_kind, None
        if kind.startswith("PARSE"):
            backend.pending_parse += cpu
        elif kind.startswith("BIND"):
            backend.pending_bind += cpu
        elif kind.startswith("EXECUTE") or kind.startswith("QUERY"):
            stmt = self.statements[backend.current or "?"]
            stmt.calls += 1
            stmt.parse += backend.pending_parse
            stmt.bind += backend.pending_bind
            stmt.execute += cpu
            backend.pending_parse = backend.pending_bind = 0.0


STATS = """
SELECT 'db.' || k, v FROM pg_stat_database d,
  LATERAL (VALUES ('commits', xact_commit), ('rollbacks', xact_rollback), ('sessions', sessions),
                  ('buffer hits', blks_hit), ('buffer reads', blks_read)) AS x(k, v)
  WHERE d.datname = current_database()
UNION ALL SELECT 'wal.' || k, v FROM pg_stat_wal,
  LATERAL (VALUES ('records', wal_records), ('full page images', wal_fpi), ('bytes', wal_bytes::bigint),
                  ('syncs', wal_sync)) AS x(k, v)
UNION ALL SELECT relname || '.' || k, v FROM pg_stat_user_tables,
  LATERAL (VALUES ('seq scans', seq_scan), ('rows read by seq scans', seq_tup_read), ('index scans', idx_scan),
                  ('inserts', n_tup_ins), ('updates', n_tup_upd), ('of them HOT', n_tup_hot_upd),
                  ('deletes', n_tup_del)) AS x(k, v)
  WHERE schemaname IN ('public', 'jobs')
"""


async def _stats(url: str) -> dict[str, int]:
    """Cumulative counters of the bench database (and the server's WAL, shared by every database):
    read them with paygate stopped, when its backends have flushed their statistics on exit."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return {k: int(v or 0) for k, v in await conn.fetch(STATS)}
    finally:
        await conn.close()


def _print_stats(before: dict[str, int], after: dict[str, int], flows: int) -> None:
    print("  counted by PostgreSQL, per flow (WAL: the whole server's):")
    for key, value in after.items():
        delta = (value - before.get(key, 0)) / flows
        if abs(delta) >= 0.005:
            print(f"    {key:55s} {delta:10.2f}")


async def _set_logging(url: str, on: bool) -> None:
    database = seed.make_url(url).database
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if on:
            await conn.execute(f'ALTER DATABASE "{database}" SET log_statement_stats = on')
            await conn.execute(f'ALTER DATABASE "{database}" SET log_statement = \'all\'')
            await conn.execute(f'ALTER DATABASE "{database}" SET log_parameter_max_length = 0')
        else:
            await conn.execute(f'ALTER DATABASE "{database}" RESET log_statement_stats')
            await conn.execute(f'ALTER DATABASE "{database}" RESET log_statement')
            await conn.execute(f'ALTER DATABASE "{database}" RESET log_parameter_max_length')
    finally:
        await conn.close()


async def _customers(url: str, clients: int, tokens: TokenCodec, spread: bool) -> list[dict]:
    from gql.schema.relay import to_global_id

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        buyers = await conn.fetch("SELECT id, email FROM users WHERE email LIKE 'bench-buyer-%' ORDER BY id")
        products = [r["id"] for r in await conn.fetch("SELECT id FROM products ORDER BY id")]
    finally:
        await conn.close()
    if len(buyers) < clients:
        raise SystemExit(f"the bench database has {len(buyers)} buyers: run `python -m bench` (or --seed) first")
    return [{"token": tokens.issue(b["id"], b["email"], ["customer"]),
             "product_id": to_global_id("Product", products[i % len(products)] if spread else products[0])}
            for i, b in enumerate(buyers[:clients])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pgcost", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs, each with a fresh paygate")
    parser.add_argument("--statements", action="store_true", help="also by statement, from the server's log")
    parser.add_argument("--counters", action="store_true",
                        help="PostgreSQL's own counters per flow: commits, WAL, scans, rows written, HOT updates")
    parser.add_argument("--no-spread", action="store_true",
                        help="leave the connections' spread over workers to the kernel (as the bench did before)")
    parser.add_argument("--log", default=DEFAULT_LOG)
    parser.add_argument("--seed", action="store_true", help="seed the bench database first (as `python -m bench`)")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", seed.DEFAULT_URL)
    database = seed.make_url(url).database
    if args.seed:
        asyncio.run(seed.seed(url, max(args.clients, 8)))
    secret = secrets.token_urlsafe(48)
    tokens = TokenCodec(secret)
    customers = asyncio.run(_customers(url, args.clients, tokens, spread=True))
    env = server.paygate_env(url, secret)
    log_dir = Path(tempfile.mkdtemp(prefix="paygate-pgcost-"))
    per_flow = []
    for run in range(args.repeat):
        if args.statements:
            asyncio.run(_set_logging(url, True))
        try:
            paygate = server.start_paygate(env, log_dir, args.workers)
            try:
                server.wait_for_quiet(0.3)
                stats_before = asyncio.run(_stats(url))
                log_offset = Path(args.log).stat().st_size if args.statements else 0
                busy0, total0 = server.machine_busy_seconds()
                before, started = Cpu.now(database), time.monotonic()
                workers_before = {p: server.process_cpu_seconds(p) for p in server.process_tree(paygate.pid)}
                spec = {**loadgen.flow_spec(paygate.port, customers,
                                            None if args.no_spread else server.worker_pids(paygate)),
                        "host": server.HOST,
                        "warmup_s": args.warmup, "duration_s": args.duration}
                result = loadgen.spawn(spec, timeout_s=args.warmup + args.duration + 90)
                wall = time.monotonic() - started
                backends_s, own_s = Cpu.now(database).since(before)
                workers = {p: server.process_cpu_seconds(p) - workers_before.get(p, 0.0)
                           for p in server.process_tree(paygate.pid)}
                busy1, total1 = server.machine_busy_seconds()
                pids = set(postgres_pids(database)[0])
            finally:
                server.stop(paygate)
        finally:
            if args.statements:
                asyncio.run(_set_logging(url, False))
        stats_after = asyncio.run(_stats(url))
        flows = max(result["completed"], 1)
        machine = (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1)
        per_flow.append(1000 * backends_s / flows)
        print(f"run {run + 1}: {result['completed']} flows ({result['rate']:.1f}/s counted, {result['errors']} "
              f"failed); PostgreSQL backends {backends_s / wall:.2f} cores = {1000 * backends_s / flows:.2f} ms "
              f"a flow; its own processes {own_s / wall:.2f} cores = {1000 * own_s / flows:.2f} ms a flow; "
              f"machine {machine:.2f} of {os.cpu_count()} cores", flush=True)
        print("  paygate's processes (cores): " + ", ".join(f"{cpu / wall:.2f}" for cpu in workers.values()))
        if args.counters:
            _print_stats(stats_before, stats_after, flows)
        if args.statements:
            with open(args.log, errors="replace") as log:
                log.seek(log_offset)
                lines = log.read().splitlines()
            tally = LogTally()
            tally.feed(pids, lines)
            _print_statements(tally, flows, backends_s, args.top)
    if len(per_flow) > 1:
        print(f"backends' ms a flow over {len(per_flow)} runs: median {statistics.median(per_flow):.2f}, "
              f"min {min(per_flow):.2f}, max {max(per_flow):.2f}")


def _print_statements(tally: LogTally, flows: int, backends_s: float, top: int) -> None:
    rows = sorted(tally.statements.items(), key=lambda kv: -kv[1].total)
    logged = sum(s.total for _, s in rows)
    print(f"\n{'µs/flow':>8} {'calls/flow':>10} {'µs/call':>8} {'parse':>6} {'bind':>6} {'exec':>6}  statement")
    for sql, s in rows[:top]:
        print(f"{1e6 * s.total / flows:8.0f} {s.calls / flows:10.2f} {1e6 * s.total / max(s.calls, 1):8.0f} "
              f"{1e6 * s.parse / max(s.calls, 1):6.0f} {1e6 * s.bind / max(s.calls, 1):6.0f} "
              f"{1e6 * s.execute / max(s.calls, 1):6.0f}  {sql[:150]}")
    print(f"\nlogged messages: {1e6 * logged / flows:.0f} µs a flow; between messages (reads, idle loop, "
          f"the logging's own cost): {1e6 * (backends_s - logged) / flows:.0f} µs a flow\n")


if __name__ == "__main__":
    main()
