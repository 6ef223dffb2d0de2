"""The printed tables: the issue's targets and whether each is met, each run's latencies, SQL and
garbage collections, and where the CPU went."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.scrape import RunCounts


@dataclass(frozen=True)
class Side:
    """What the load generator saw of one server in one run: a rate and its latencies (ms)."""

    rate: float
    unit: str
    p50_ms: float
    p99_ms: float
    count: int
    errors: int = 0
    error_sample: str | None = None


@dataclass(frozen=True)
class Usage:
    """CPU used while one load ran, in cores (1.0 = one core busy the whole time)."""

    server: float | None
    loadgen: float | None
    postgres: float | None
    machine: float
    busy_before: float  # cores busy just before the run, with nothing of ours running
    server_ms_each: float | None = None  # the server's CPU time per request (or flow), in ms

    @property
    def other(self) -> float:
        """What nobody of ours used: other processes on the machine, and the kernel's share."""
        ours = (self.server or 0) + (self.loadgen or 0) + (self.postgres or 0)
        return max(self.machine - ours, 0.0)


@dataclass(frozen=True)
class Run:
    """One load against one server: what the load generator saw, the CPU, and paygate's own counts
    (None for the baselines, which count nothing)."""

    name: str
    side: Side
    usage: Usage
    counts: RunCounts | None = None


@dataclass(frozen=True)
class Target:
    """One line of the issue's targets table. `higher` says which way is better."""

    name: str
    value: float
    text: str            # the value as shown, with its unit
    must: float
    goal: float
    unit: str            # for the bounds: "x", "ms", "%", "" (a count)
    higher: bool = False

    def meets(self, bound: float) -> bool:
        return self.value >= bound if self.higher else self.value <= bound

    def bound_text(self, bound: float) -> str:
        sign = ">=" if self.higher else "<="
        unit = {"x": "x", "ms": " ms", "%": " %", "": ""}[self.unit]
        return f"{sign} {bound:g}{unit}"


def slower(paygate: Side, baseline: Side) -> float:
    """How many times slower paygate is than the baseline, by their rates."""
    return baseline.rate / paygate.rate if paygate.rate else float("inf")


def targets_table(targets: list[Target]) -> str:
    header = ("target (issue 16)", "measured", "must", "met", "goal", "met")
    body = [(t.name, t.text, t.bound_text(t.must), _yes(t.meets(t.must)), t.bound_text(t.goal),
             _yes(t.meets(t.goal))) for t in targets]
    return _grid(header, body)


def runs_table(runs: list[Run]) -> str:
    header = ("run", "rate", "p50 / p99 ms", "server CPU ms each", "SQL each + BEGIN/COMMIT/ROLLBACK",
              "GC collections gen 0/1/2", "GC ms each", "longest GC pause ms")
    body = []
    for r in runs:
        counts = r.counts
        body.append((r.name, f"{r.side.rate:,.1f} {r.side.unit}", f"{r.side.p50_ms:.2f} / {r.side.p99_ms:.2f}",
                     _num(r.usage.server_ms_each), counts.sql_text() if counts else "-",
                     counts.collections_text() if counts else "-",
                     f"{counts.paused_ms_each:.2f}" if counts else "-",
                     f"{counts.longest_pause_ms:.2f}" if counts else "-"))
    return _grid(header, body)


def usage_table(runs: list[Run], cores: int) -> str:
    header = ("run (CPU in cores)", "server", "load generator", "PostgreSQL", "other",
              f"machine (of {cores})", "busy before")
    body = [(r.name, _num(r.usage.server), _num(r.usage.loadgen), _num(r.usage.postgres),
             _num(r.usage.other if r.usage.server is not None else None), _num(r.usage.machine),
             _num(r.usage.busy_before)) for r in runs]
    return _grid(header, body)


def errors_text(runs: list[Run]) -> str:
    return "\n".join(f"  {r.name}: {r.side.errors} failed (not counted in the rate), e.g. {r.side.error_sample!r}"
                     for r in runs if r.side.errors)


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _grid(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def machine() -> str:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} CPUs ({model}), {memory_kb / 1024 / 1024:.1f} GiB memory"
