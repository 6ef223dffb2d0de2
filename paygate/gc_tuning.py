"""The cyclic garbage collector in a server process: tuned once start-up is over, and its pauses
measured.

Tuning (`settle`, called at the end of start-up by every `paygate serve` worker process and by
`paygate worker`):
  - `gc.collect()` then `gc.freeze()`: what start-up built (modules, the GraphQL schema,
    SQLAlchemy's mappers, the providers) lives as long as the process; frozen, a full collection
    no longer walks it. Measured before this (STACK-NOTES.md, turn 2): a full collection scanned
    ~170k objects for ~80 ms, a quarter of the payments page's CPU and `me`'s p99.
  - `gc.set_threshold(*THRESHOLDS)`: see the comment on THRESHOLDS for what was measured.
  - The survivors of the first young collections after start-up are frozen too (WarmUpFreezes):
    what the first requests cache for the process's life.

Pauses (`GcPauses`): a `gc.callbacks` hook times every collection. The hook runs inside the
collector, at any allocation of any code, so it only stores floats: prometheus_client takes a
non-reentrant lock to write a sample (its multiprocess mode shares one lock per process), and a
collection triggered while that lock is held would deadlock if the hook wrote a sample itself.
The pauses are moved into the metrics (`flush`) by a task of the event loop once a second and by
every scrape of /metrics before it is answered.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator

from paygate.metrics import GC_PAUSE, GC_PAUSE_LONGEST

# Young collections every 5,000 net allocations instead of CPython's 700 (bench/README.md,
# "Garbage collection", has the figures). What decides it:
#   - A young collection's pause is mostly freeing the cyclic garbage it finds: `me` leaves ~40
#     cyclic objects a request, and a collection at 50,000 freed ~45,000 of them in one 38 ms
#     pause (CPU time). At 5,000 `me`'s collections took 1.3-1.8 ms (gen 1: 4.5 ms); at 10,000,
#     3-4 ms (gen 1: 13 ms). Larger thresholds trade longer pauses for fewer of them.
#   - At 700 the payments page's in-flight objects (~10^5 a request, alive while 8 requests
#     share the core) are scanned again and again and promoted until full collections run: the
#     page spent 15.8 ms of CPU a request in the collector, 6.3 ms at 10,000, 2.4 ms at 50,000.
#   - Gen 1 every 3 young collections instead of CPython's 10: a gen 1 collection scans what
#     survived the young ones since the last, and the flows' survivors (in-flight requests, and
#     cyclic garbage whose cycle closed after a young collection: ~170 objects a flow request)
#     piled up to ~28,000 objects at 10, a 7.4 ms pause (CPU time) and the longest of any bench
#     run (11-16 ms wall-clock). At 3 gen 1 holds ~3,300 and its steady pauses are 2-3.4 ms.
#   - Gen 2 every 100 gen 1 collections, not 10: with gen 1 three times as frequent, 10 made full
#     collections run during every bench run (4 in the page's) and the page's longest pause grew
#     from 7.9 to 12.4 ms; at 100 none ran and the longest pause of any run was 7.6 ms
#     (bench/README.md, "The figures"). CPython also waits until a quarter of the long-lived heap
#     is new, and what start-up built is frozen, out of it.
# The page's gen 1 pauses (20-50 ms: in-flight page objects scanned) don't go away with any
# thresholds tried; fewer objects per page do (issue 16, items 3 and 4).
THRESHOLDS = (5_000, 3, 100)
FLUSH_EVERY_S = 1.0
# The first requests fill caches that live as long as the process: SQLAlchemy's compiled
# statements, the pool's connections and their prepared statements, the compiled query plans. The
# first gen 1 collection after start-up scanned all of that: 6.7-7.7 ms of CPU in every flows run
# (bench/README.md, "Garbage collection"), the longest pause of the run, where the steady young
# collections take 1-2.5 ms. So the survivors of the first young collections are frozen too, as
# start-up's were. A collection frees what it found unreachable before the freeze; what is frozen
# is still freed by reference counting, only no longer scanned.
WARM_UP_FREEZES = 3


def settle() -> None:
    """End of start-up: collect what start-up left, freeze the rest, set the thresholds, and
    freeze again after the first young collections (WARM_UP_FREEZES)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    WarmUpFreezes(WARM_UP_FREEZES).install()


class WarmUpFreezes:
    """Freezes the survivors of the next `count` collections, at the end of each (`gc.callbacks`)."""

    def __init__(self, count: int) -> None:
        self.left = count

    def install(self) -> None:
        gc.callbacks.append(self._hook)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._hook)

    def _hook(self, phase: str, _info: dict) -> None:
        # At "stop" the collection is over and the generations' lists are whole again: freezing
        # only moves them into the permanent generation (no allocation, no Python code). Spent, the
        # hook stays and does nothing: removing it here would skip the callback after it this time.
        if phase == "stop" and self.left > 0:
            self.left -= 1
            gc.freeze()


class GcPauses:
    """Times collections (`gc.callbacks`) and moves them into the metrics when asked (`flush`)."""

    def __init__(self) -> None:
        self._started = 0.0
        self._pending: list[tuple[int, float]] = []  # (generation, seconds), appended by the hook
        self._longest = [0.0, 0.0, 0.0]               # by generation, since the process started

    def installed(self) -> bool:
        return self._hook in gc.callbacks

    def install(self) -> None:
        if not self.installed():
            gc.callbacks.append(self._hook)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._hook)

    def _hook(self, phase: str, info: dict) -> None:
        # Inside the collector: no locks, no I/O. The collector doesn't run again while its hooks
        # do, so the tuple allocated here can't start a nested collection.
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pending.append((info["generation"], time.perf_counter() - self._started))

    def flush(self) -> None:
        """Observe the pauses recorded since the last flush (outside the collector)."""
        pending, self._pending = self._pending, []
        for generation, seconds in pending:
            GC_PAUSE.labels(str(generation)).observe(seconds)
            if seconds > self._longest[generation]:
                self._longest[generation] = seconds
                GC_PAUSE_LONGEST.labels(str(generation)).set(seconds)

    @contextlib.asynccontextmanager
    async def flushing(self, every_s: float = FLUSH_EVERY_S) -> AsyncIterator[None]:
        """Installed, and flushed every `every_s` seconds, for as long as the block runs."""
        self.install()

        async def flush_forever() -> None:
            while True:
                await asyncio.sleep(every_s)
                self.flush()

        task = asyncio.create_task(flush_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.uninstall()
            self.flush()


PAUSES = GcPauses()  # one per process: gc.callbacks is process-wide
