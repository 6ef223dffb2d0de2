"""The risk checks' velocity counters: the in-process one counts exactly what the Redis one counts,
whatever the order of hits, a member seen again, the window sliding or the clock going back."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from paygate.risk_counters import LocalCounters, RedisCounters

START = datetime(2026, 12, 6, 12, tzinfo=UTC)
WINDOW_S = 60


def script(seed: int) -> list[tuple[str, str, str, datetime]]:
    """Hits and counts on two keys, mostly forward in time, sometimes back, members repeating."""
    rnd = random.Random(seed)
    now, steps = START, []
    for _ in range(400):
        now += timedelta(seconds=rnd.choice([0, 0.5, 1, 3, 7, 20, 45, -5, -30]))
        steps.append((rnd.choice(["hit", "hit", "count"]), rnd.choice(["k1", "k2"]), f"m{rnd.randrange(40)}", now))
    return steps


async def replay(counters, steps) -> list[int]:
    answers = []
    for op, key, member, now in steps:
        if op == "hit":
            answers.append(await counters.hit(key, member, now, WINDOW_S))
        else:
            answers.append(await counters.count(key, now, WINDOW_S))
    return answers


def expected(steps) -> list[int]:
    """The definition, by brute force: a member counts when last seen within the window
    (after now - window), trimmed as the counters trim (a hit drops what fell out of it)."""
    seen: dict[str, dict[str, float]] = {}
    answers = []
    for op, key, member, now in steps:
        members = seen.setdefault(key, {})
        since = now.timestamp() - WINDOW_S
        if op == "hit":
            members[member] = now.timestamp()
        for old in [m for m, at in members.items() if at <= since]:
            del members[old]
        answers.append(len(members))
    return answers


async def test_the_local_counters_count_the_window_exactly_however_the_clock_moves():
    for seed in range(5):
        steps = script(seed)
        assert await replay(LocalCounters(), steps) == expected(steps), seed


async def test_a_member_seen_again_counts_once_and_stays_as_long_as_its_last_sighting():
    counters = LocalCounters()
    await counters.hit("k", "a", START, WINDOW_S)
    await counters.hit("k", "b", START + timedelta(seconds=30), WINDOW_S)
    await counters.hit("k", "a", START + timedelta(seconds=50), WINDOW_S)

    assert await counters.count("k", START + timedelta(seconds=89), WINDOW_S) == 2  # a at 50, b at 30
    assert await counters.count("k", START + timedelta(seconds=95), WINDOW_S) == 1  # b out
    assert await counters.count("k", START + timedelta(seconds=111), WINDOW_S) == 0


async def test_the_redis_counters_agree_with_the_local_ones(redis_url):
    steps = [step for step in script(7) if step[3] >= START]  # Redis trims by score: forward in time
    steps.sort(key=lambda step: step[3])
    redis_counters = RedisCounters(redis_url)
    try:
        await redis_counters._redis.delete("paygate:k1", "paygate:k2")
        assert await replay(redis_counters, steps) == await replay(LocalCounters(), steps)
    finally:
        await redis_counters._redis.delete("paygate:k1", "paygate:k2")
        await redis_counters.close()
