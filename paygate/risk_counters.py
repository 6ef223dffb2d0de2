"""The risk checks' shared counters (domain/risk/model.py RiskCounters), and the RiskScreen the
settings make.

    RedisCounters   one sorted set per key (member -> last time seen), trimmed to the window and
                    read in one MULTI/EXEC, so every app process and worker counts the same
                    attempts; used whenever PAYGATE_REDIS_URL is set
    LocalCounters   the same in this process, for a single-process deployment (and tests)

Members are distinct things (an attempt, a card's fingerprint), so a card declined twice counts
once toward card testing while an attempt always counts.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
from datetime import datetime

from domain.risk.model import Thresholds
from domain.risk.service import RiskScreen
from paygate.settings import Settings

KEY_PREFIX = "paygate:"


class LocalCounters:
    """Each key's members with the time each was last seen, and a heap of (time, member) for every
    sighting, so that trimming the window pops what fell out of it, oldest first, and stops at the
    first sighting inside it. A scan of every member at every hit cost one flow in a hundred at
    150 payments a second with one card (issue 16: the window holds 90,000 attempts then); a list
    kept in time order is no better, since concurrent payments take their times and hit in
    different orders. A sighting superseded by a later one of its member is dropped when popped."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[dict[str, float], list[tuple[float, str]]]] = {}

    async def hit(self, key: str, member: str, now: datetime, window_s: int) -> int:
        at = now.timestamp()
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = ({}, [])
        members, sightings = found
        members[member] = at  # the latest sighting counts, as Redis's ZADD
        heapq.heappush(sightings, (at, member))
        return self._count(key, now, window_s)

    async def count(self, key: str, now: datetime, window_s: int) -> int:
        return self._count(key, now, window_s)

    def _count(self, key: str, now: datetime, window_s: int) -> int:
        found = self._seen.get(key)
        if found is None:
            return 0
        members, sightings = found
        since = now.timestamp() - window_s
        while sightings and sightings[0][0] <= since:
            at, member = heapq.heappop(sightings)
            if members.get(member) == at:
                del members[member]
        if not members:
            del self._seen[key]
        return len(members)


class RedisCounters:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)

    async def hit(self, key: str, member: str, now: datetime, window_s: int) -> int:
        at = now.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(KEY_PREFIX + key, {member: at})
            pipe.zremrangebyscore(KEY_PREFIX + key, "-inf", at - window_s)
            pipe.zcard(KEY_PREFIX + key)
            pipe.expire(KEY_PREFIX + key, window_s + 1)
            results = await pipe.execute()
        return int(results[2])

    async def count(self, key: str, now: datetime, window_s: int) -> int:
        at = now.timestamp()
        return int(await self._redis.zcount(KEY_PREFIX + key, f"({at - window_s}", "+inf"))

    async def close(self) -> None:
        await self._redis.aclose()


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        window_s=settings.risk_window_s, buyer_attempts=settings.risk_buyer_attempts,
        card_attempts=settings.risk_card_attempts, address_attempts=settings.risk_address_attempts,
        velocity_score=settings.risk_velocity_score, amount_limits=dict(settings.risk_amount_limits),
        amount_score=settings.risk_amount_score, small_minor=settings.risk_small_minor,
        card_testing_declines=settings.risk_card_testing_declines,
        card_testing_score=settings.risk_card_testing_score,
        country_mismatch_score=settings.risk_country_mismatch_score, review_score=settings.risk_review_score,
        block_score=settings.risk_block_score)


def build_risk(settings: Settings) -> RiskScreen | None:
    """The risk checks as the settings make them; None with PAYGATE_RISK_CHECKS=off."""
    if settings.risk_checks == "off":
        return None
    counters = RedisCounters(settings.redis_url) if settings.redis_url else LocalCounters()
    # A key of its own, derived from the secret: fingerprints can't be matched across deployments.
    key = hmac.new(settings.secret_key.encode(), b"paygate risk card fingerprint", hashlib.sha256).digest()
    return RiskScreen(counters=counters, thresholds=thresholds(settings), fingerprint_key=key)
