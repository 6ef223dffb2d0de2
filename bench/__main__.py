"""`make bench`: paygate on PostgreSQL against baselines measured in the same run.

    (1) payments(first: 100) with nested fields   vs  one hand-written asyncpg query, same JSON
    (2) add item + checkout + pay, whole flows/s  vs  pgbench TPC-B-like, same client count
    (3) a small authenticated query (production   vs  a bare Starlette route (constant JSON)
        limits on)

paygate runs as `paygate serve` (PAYGATE_ENV=production, a real secret, rate limit off), the
baseline as a bare Starlette app, each under uvicorn with one worker, and the load generator in a
third process; all on loopback. Everything stops by itself; see bench/README.md for a reading.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import load as loadgen
from bench import pgbench, profile, queries, report, seed, server
from bench.report import Row, Side, Usage
from bench.server import Server
from paygate.auth import TokenCodec

TARGETS = {"page": 3.0, "flow": 10.0, "small": 33.0}
CORES = os.cpu_count() or 1
BUSY_CORES = 0.3  # more than this busy before a run, with nothing of ours running: say so


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before measuring (default 2)")
    parser.add_argument("--connections", type=int, default=8,
                        help="concurrent connections for (1) and (3) (default 8)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent customers for (2), and pgbench's client count (default 8)")
    parser.add_argument("--only", default="1,2,3", help="which benchmarks, e.g. --only 1,3 (default all)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample paygate with py-spy during its runs, write DIR/<run>.txt and print "
                             "where its CPU went (slows paygate a little)")
    return parser.parse_args(argv)


@dataclass
class Bench:
    args: argparse.Namespace
    database: str
    tokens: TokenCodec
    seeded: seed.Seeded
    paygate: Server
    baseline: Server | None = None

    def token(self, actor, role: str) -> str:
        return self.tokens.issue(actor.user_id, actor.email, [role])

    def load(self, target: Server, spec: dict, name: str) -> tuple[dict, Usage]:
        """One run of the load generator (its own process) against a server, with the CPU each side used."""
        args = self.args
        spec = {"host": server.HOST, "warmup_s": args.warmup, "duration_s": args.duration, **spec}
        quiet = server.wait_for_quiet(BUSY_CORES)
        if quiet >= BUSY_CORES:
            print(f"  warning: the machine was busy ({quiet:.2f} cores) before this run: its figures are low",
                  flush=True)
        sampler = None
        if args.profile and target is self.paygate:
            sampler = profile.Sampler(target.pid, args.profile / f"{name}.txt", args.warmup + args.duration)
        cpu_before, pg_before = target.cpu_seconds(), server.postgres_cpu(self.database)
        busy_before, total_before = server.machine_busy_seconds()
        wall_before = time.monotonic()
        result = loadgen.spawn(spec, timeout_s=args.warmup + args.duration + 90)
        wall = time.monotonic() - wall_before
        busy_after, total_after = server.machine_busy_seconds()
        server_cpu = target.cpu_seconds() - cpu_before
        usage = Usage(server=server_cpu / wall, loadgen=result["loadgen_cpu"],
                      postgres=server.postgres_cpu_since(self.database, pg_before) / wall,
                      machine=(busy_after - busy_before) / (total_after - total_before) * CORES,
                      busy_before=quiet, server_ms_each=1000 * server_cpu / max(result["completed"], 1))
        if sampler is not None:
            title = f"  where paygate's CPU went in {name}"
            print(profile.summary(sampler.finish(), title=title), flush=True)
        return result, usage


def side(result: dict, unit: str) -> Side:
    return Side(rate=result["rate"], unit=unit, p50_ms=result["p50_ms"], p99_ms=result["p99_ms"],
                count=result["count"], errors=result["errors"])


def post_graphql(target: Server, document: str, token: str, variables: dict | None = None) -> bytes:
    conn = http.client.HTTPConnection(server.HOST, target.port, timeout=30)
    try:
        conn.request("POST", "/graphql", json.dumps({"query": document, "variables": variables or {}}),
                     {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or b'"errors"' in body:
        raise RuntimeError(f"paygate answered {response.status}: {body[:500]!r}")
    return body


def get(target: Server, path: str) -> bytes:
    conn = http.client.HTTPConnection(server.HOST, target.port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def first_difference(a, b, path: str = "$") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} vs {sorted(b)}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        pairs = enumerate(zip(a, b, strict=True))
        return next((d for i, (x, y) in pairs if (d := first_difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def check_same_page(bench: Bench) -> None:
    """The baseline must answer exactly what paygate answers, or the comparison means nothing."""
    staff = bench.token(bench.seeded.staff, "staff")
    ours = json.loads(post_graphql(bench.paygate, queries.PAYMENTS_PAGE, staff, {"first": queries.PAGE_SIZE}))
    theirs = json.loads(get(bench.baseline, "/payments"))
    if (difference := first_difference(ours, theirs)) is not None:
        raise RuntimeError(f"the baseline's page differs from paygate's at {difference}")
    edges = ours["data"]["payments"]["edges"]
    nested = sum(len(e["node"]["order"]["lines"]) + len(e["node"]["refunds"]) for e in edges)
    print(f"checked: paygate and the baseline answer the same page ({len(edges)} payments, {nested} order "
          f"lines and refunds, {len(json.dumps(ours, separators=(',', ':'))):,} bytes)")


def bench_page(bench: Bench) -> tuple[Row, list]:
    staff = bench.token(bench.seeded.staff, "staff")
    spec = loadgen.request_spec(bench.paygate.port, "/graphql", queries.PAYMENTS_PAGE, staff,
                                {"first": queries.PAGE_SIZE}, bench.args.connections)
    ours, ours_use = bench.load(bench.paygate, spec, "page")
    theirs_spec = {**spec, "port": bench.baseline.port, "path": "/payments"}
    theirs, theirs_use = bench.load(bench.baseline, theirs_spec, "page")
    row = Row(f"(1) payments(first: {queries.PAGE_SIZE}), nested", side(ours, "req/s"), side(theirs, "req/s"),
              "asyncpg route", "slower", TARGETS["page"])
    return row, [("(1) paygate", ours_use), ("(1) asyncpg route", theirs_use)]


def bench_small(bench: Bench) -> tuple[Row, list]:
    buyer = bench.token(bench.seeded.buyers[0], "customer")
    spec = loadgen.request_spec(bench.paygate.port, "/graphql", queries.ME, buyer, None,
                                bench.args.connections)
    ours, ours_use = bench.load(bench.paygate, spec, "me")
    theirs_spec = {**spec, "port": bench.baseline.port, "path": "/bare"}
    theirs, theirs_use = bench.load(bench.baseline, theirs_spec, "me")
    row = Row("(3) small authenticated query (me)", side(ours, "req/s"), side(theirs, "req/s"), "bare route",
              "share", TARGETS["small"])
    return row, [("(3) paygate", ours_use), ("(3) bare route", theirs_use)]


def bench_flows(bench: Bench, pgbench_url: str) -> tuple[Row, list]:
    from gql.schema.relay import to_global_id

    args, products = bench.args, bench.seeded.product_ids
    customers = [{"token": bench.token(buyer, "customer"),
                  "product_id": to_global_id("Product", products[i % len(products)])}
                 for i, buyer in enumerate(bench.seeded.buyers[:args.clients])]
    ours, ours_use = bench.load(bench.paygate, loadgen.flow_spec(bench.paygate.port, customers), "flow")
    pgbench.initialize(pgbench_url, scale=args.clients)
    quiet = server.wait_for_quiet(BUSY_CORES)
    busy_before, total_before = server.machine_busy_seconds()
    tpcb = pgbench.run(pgbench_url, clients=args.clients, threads=min(args.clients, CORES),
                       duration_s=args.duration)
    busy_after, total_after = server.machine_busy_seconds()
    print(f"  {tpcb.command}")
    machine = (busy_after - busy_before) / (total_after - total_before) * CORES
    row = Row(f"(2) add item + checkout + pay, {args.clients} clients", side(ours, "flows/s"),
              Side(tpcb.tps, "tps", tpcb.p50_ms, tpcb.p99_ms, tpcb.transactions), "pgbench tpcb-like",
              "share", TARGETS["flow"])
    return row, [("(2) paygate flows", ours_use), ("(2) pgbench", Usage(None, None, None, machine, quiet))]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    only = {part.strip() for part in args.only.split(",")}
    if "2" in only and not pgbench.available():
        sys.exit("bench: pgbench is not on the PATH; on Debian/Ubuntu it comes with the server package: "
                 "apt-get install -y postgresql (or run with --only 1,3)")
    if args.profile and not profile.available():
        sys.exit(f"bench: --profile needs py-spy on the PATH: {profile.INSTALL_HINT}")
    bench_url = os.environ.get("BENCH_DATABASE_URL", seed.DEFAULT_URL)
    pgbench_url = os.environ.get("BENCH_PGBENCH_DATABASE_URL", pgbench.DEFAULT_URL)
    cores = CORES
    started = time.monotonic()
    print(f"machine: {report.machine()}")
    print(f"paygate and the baseline: uvicorn, 1 worker each; PostgreSQL and the load generator on the same "
          f"machine ({cores} cores shared by all of them)")
    print(f"database: {seed.make_url(bench_url).render_as_string(hide_password=True)} (public schema reset)")
    seeded = asyncio.run(seed.seed(bench_url, max(args.clients, 8)))
    print(f"seeded: demo shop, {len(seeded.buyers)} buyers, {seed.SEEDED_PAYMENTS} orders paid through the "
          f"use cases ({time.monotonic() - started:.0f} s)")

    secret = secrets.token_urlsafe(48)
    log_dir = Path(tempfile.mkdtemp(prefix="paygate-bench-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    paygate = server.start_paygate({"PAYGATE_DATABASE_URL": bench_url, "PAYGATE_ENV": "production",
                                    "PAYGATE_SECRET_KEY": secret, "PAYGATE_RATE_LIMIT": "off"}, log_dir)
    bench = Bench(args, seed.make_url(bench_url).database, TokenCodec(secret), seeded, paygate)
    rows: list[Row] = []
    usage: list[tuple[str, Usage]] = []
    try:
        me_body = post_graphql(paygate, queries.ME, bench.token(seeded.buyers[0], "customer"))
        bench.baseline = server.start_baseline({"BENCH_PG_DSN": seed.asyncpg_dsn(bench_url),
                                                "BENCH_BARE_BODY": me_body.decode(),
                                                "BENCH_PAGE_SIZE": str(queries.PAGE_SIZE)}, log_dir)
        check_same_page(bench)
        runs = [("1", "(1) payments page", lambda: bench_page(bench)),
                ("3", "(3) small authenticated query", lambda: bench_small(bench)),
                ("2", "(2) flows", lambda: bench_flows(bench, pgbench_url))]  # last: it adds payments
        for key, name, run in runs:
            if key in only:
                print(f"running {name} ...", flush=True)
                row, used = run()
                rows.append(row)
                usage += used
    except BaseException:
        print(f"bench: failed; the servers' logs are in {log_dir}", file=sys.stderr)
        raise
    finally:
        for running in (paygate, bench.baseline):
            if running is not None:
                server.stop(running)

    print()
    print(report.table(rows))
    print()
    print(report.usage_table(usage, cores))
    if errors := report.errors_text(rows):
        print("\nfailures:\n" + errors)
    print(f"\n{args.duration} s measured per run after {args.warmup} s of warm-up; {args.connections} "
          f"connections for (1) and (3), {args.clients} clients for (2); "
          f"total {time.monotonic() - started:.0f} s")
    shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
