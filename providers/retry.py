"""One retry policy for every provider adapter, on tenacity: a few tries with exponential backoff
and jitter, for failures that leave the outcome unknown (a timeout, a 5xx, a 409 for a request
with the same key still running at the provider).

The caller hands over a factory that re-makes the same request on each try, so the idempotency
key in it never changes: a timeout means the provider may already have acted, and a fresh key
could charge or refund twice. Which failures are worth another try is the adapter's to say
(`transient`): only it knows its SDK's or HTTP client's exceptions.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    tries: int = 3
    first_delay_s: float = 0.25  # then 0.5 s: a retried call gives up within about a second
    max_delay_s: float = 2.0
    jitter_s: float = 0.0        # spread for many processes retrying one provider at once
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # injected by tests

    def __post_init__(self) -> None:
        if self.tries < 1 or self.first_delay_s < 0 or self.jitter_s < 0:
            raise ValueError("at least one try, and no negative delay")

    async def run(self, make: Callable[[], Awaitable[T]], transient: Callable[[BaseException], bool]) -> T:
        """`make()` until it answers, a non-transient error is raised, or the tries are spent
        (the last error is raised as it was)."""
        wait = wait_exponential(multiplier=self.first_delay_s, max=self.max_delay_s)
        if self.jitter_s:
            wait = wait + wait_random(0, self.jitter_s)
        retrying = AsyncRetrying(stop=stop_after_attempt(self.tries), wait=wait,
                                 retry=retry_if_exception(transient), sleep=self.sleep, reraise=True)

        async def once() -> T:  # tenacity awaits only what it can tell is a coroutine function
            return await make()

        return await retrying(once)
