"""The printed tables: what each benchmark got against its baseline, and where the CPU went."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a rate and its latencies (ms)."""

    rate: float
    unit: str
    p50_ms: float
    p99_ms: float
    count: int
    errors: int = 0


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
class Row:
    metric: str
    paygate: Side
    baseline: Side
    baseline_name: str
    kind: str  # "slower": baseline/paygate as a factor, lower is better; "share": paygate/baseline in %
    target: float        # the factor (slower) or the percentage (share) aimed for

    @property
    def ratio(self) -> float:
        if self.kind == "slower":
            return self.baseline.rate / self.paygate.rate if self.paygate.rate else float("inf")
        return 100 * self.paygate.rate / self.baseline.rate if self.baseline.rate else 0.0

    @property
    def met(self) -> bool:
        return self.ratio <= self.target if self.kind == "slower" else self.ratio >= self.target

    def ratio_text(self) -> str:
        return f"{self.ratio:.2f}x slower" if self.kind == "slower" else f"{self.ratio:.1f} %"

    def target_text(self) -> str:
        return f"<= {self.target:g}x" if self.kind == "slower" else f">= {self.target:g} %"


def _side(side: Side) -> str:
    return f"{side.rate:,.1f} {side.unit}"


def _lat(side: Side) -> str:
    return f"{side.p50_ms:.2f} / {side.p99_ms:.2f}"


def table(rows: list[Row]) -> str:
    header = ("metric", "paygate", "baseline", "ratio", "target", "met", "paygate p50/p99 ms",
              "baseline p50/p99 ms")
    body = [(r.metric, _side(r.paygate), f"{_side(r.baseline)} ({r.baseline_name})", r.ratio_text(),
             r.target_text(), "yes" if r.met else "NO", _lat(r.paygate), _lat(r.baseline)) for r in rows]
    return _grid(header, body)


def usage_table(runs: list[tuple[str, Usage]], cores: int) -> str:
    header = ("run (CPU in cores)", "server", "server CPU ms each", "load generator", "PostgreSQL", "other",
              f"machine (of {cores})", "busy before")

    def cores_text(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    body = [(name, cores_text(u.server), cores_text(u.server_ms_each), cores_text(u.loadgen),
             cores_text(u.postgres),
             cores_text(u.other if u.server is not None else None), cores_text(u.machine),
             cores_text(u.busy_before)) for name, u in runs]
    return _grid(header, body)


def errors_text(rows: list[Row]) -> str:
    lines = []
    for r in rows:
        for name, side in (("paygate", r.paygate), (r.baseline_name, r.baseline)):
            if side.errors:
                lines.append(f"  {r.metric}: {side.errors} failed on {name} (not counted in the rate)")
    return "\n".join(lines)


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
