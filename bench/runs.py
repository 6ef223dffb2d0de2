"""The three benchmarks. Every paygate run gets a paygate of its own, started fresh, so what it
counted (SQL, garbage collections, the longest pause: bench/scrape.py) is that run's alone."""
from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import load as loadgen
from bench import pgbench, profile, queries, scrape, seed, server
from bench.report import Run, Side, Usage
from bench.server import Server
from paygate.auth import TokenCodec

CORES = os.cpu_count() or 1
BUSY_CORES = 0.3  # more than this busy before a run, with nothing of ours running: say so
FLOW_WORKERS = 2  # pgbench runs with 2 threads (-j 2); paygate gets as many worker processes


@dataclass
class Bench:
    args: argparse.Namespace
    database: str
    tokens: TokenCodec
    seeded: seed.Seeded
    start_paygate: Callable[[int], Server]   # a fresh `paygate serve --workers N`
    baseline: Server | None = None
    runs: list[Run] = field(default_factory=list)

    def token(self, actor, role: str) -> str:
        return self.tokens.issue(actor.user_id, actor.email, [role])

    def load(self, target: Server, spec: dict, name: str, *, counted: bool, profiled: bool = False) -> Run:
        """One run of the load generator (its own process) against a server, with the CPU each side
        used and, for paygate (`counted`), what it counted itself. `profiled`: py-spy samples the
        server's process (one worker: uvicorn's own process serves)."""
        args = self.args
        spec = {"host": server.HOST, "warmup_s": args.warmup, "duration_s": args.duration, **spec}
        quiet = server.wait_for_quiet(BUSY_CORES)
        if quiet >= BUSY_CORES:
            print(f"  warning: the machine was busy ({quiet:.2f} cores) before this run: its figures are low",
                  flush=True)
        counts = scrape.Counts(server.HOST, target.port) if counted else None
        if counts is not None:
            counts.before()
        sampler = None
        if args.profile and profiled:
            sampler = profile.Sampler(target.pid, args.profile / f"{_file_name(name)}.txt", args.warmup + args.duration)
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
            print(profile.summary(sampler.finish(), title=f"  where paygate's CPU went in {name}"), flush=True)
        unit = "flows/s" if spec["scenario"] == "flow" else "req/s"
        side = Side(rate=result["rate"], unit=unit, p50_ms=result["p50_ms"], p99_ms=result["p99_ms"],
                    count=result["count"], errors=result["errors"], error_sample=result["error_sample"])
        run = Run(name, side, usage, counts.after(result["completed"]) if counts is not None else None)
        self.runs.append(run)
        return run

    def paygate_run(self, workers: int, spec_for: Callable[[Server], dict], name: str) -> Run:
        paygate = self.start_paygate(workers)
        try:
            return self.load(paygate, spec_for(paygate), name, counted=True, profiled=workers == 1)
        finally:
            server.stop(paygate)


def page(bench: Bench) -> tuple[Run, Run]:
    staff = bench.token(bench.seeded.staff, "staff")

    def spec(target: Server, path: str = "/graphql") -> dict:
        return loadgen.request_spec(target.port, path, queries.PAYMENTS_PAGE, staff, {"first": queries.PAGE_SIZE},
                                    bench.args.connections)

    ours = bench.paygate_run(1, spec, "(1) paygate page")
    theirs = bench.load(bench.baseline, spec(bench.baseline, "/payments"), "(1) asyncpg route", counted=False)
    return ours, theirs


def me(bench: Bench) -> tuple[Run, Run, Run]:
    buyer = bench.token(bench.seeded.buyers[0], "customer")

    def spec(target: Server, path: str = "/graphql") -> dict:
        return loadgen.request_spec(target.port, path, queries.ME, buyer, None, bench.args.connections)

    ours = bench.paygate_run(1, spec, "(3) paygate me")
    same_work = bench.load(bench.baseline, spec(bench.baseline, "/me"), "(3) same-work route", counted=False)
    bare = bench.load(bench.baseline, spec(bench.baseline, "/bare"), "(3) bare route", counted=False)
    return ours, same_work, bare


def flows(bench: Bench, pgbench_url: str) -> tuple[Run, Run, Run]:
    """One worker for the CPU and statements a flow costs; FLOW_WORKERS against pgbench."""
    from gql.schema.relay import to_global_id

    args, products = bench.args, bench.seeded.product_ids
    customers = [{"token": bench.token(buyer, "customer"),
                  "product_id": to_global_id("Product", products[i % len(products)])}
                 for i, buyer in enumerate(bench.seeded.buyers[:args.clients])]

    def spec(target: Server) -> dict:
        # Spread over the workers: left to the kernel, all 8 often land on one (load.py).
        return loadgen.flow_spec(target.port, customers, server.worker_pids(target))

    one = bench.paygate_run(1, spec, "(2) paygate flows, 1 worker")
    two = bench.paygate_run(FLOW_WORKERS, spec, f"(2) paygate flows, {FLOW_WORKERS} workers")
    pgbench.initialize(pgbench_url, scale=args.clients)
    quiet = server.wait_for_quiet(BUSY_CORES)
    busy_before, total_before = server.machine_busy_seconds()
    tpcb = pgbench.run(pgbench_url, clients=args.clients, threads=min(args.clients, CORES), duration_s=args.duration)
    busy_after, total_after = server.machine_busy_seconds()
    print(f"  {tpcb.command}")
    machine = (busy_after - busy_before) / (total_after - total_before) * CORES
    theirs = Run("(2) pgbench tpcb-like", Side(tpcb.tps, "tps", tpcb.p50_ms, tpcb.p99_ms, tpcb.transactions),
                 Usage(None, None, None, machine, quiet))
    bench.runs.append(theirs)
    return one, two, theirs


def _file_name(run_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", run_name.lower()).strip("-")
