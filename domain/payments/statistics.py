"""Payment statistics for staff (seed 003's admin statistics, GraphQL `paymentStatistics`): per
currency, never mixing currencies.

    volume          every payment created in the period: how many, and for how much
    success rate    succeeded / (succeeded + failed), overall, by method and by provider
                    (payments still undecided or canceled before an answer don't count)
    captured        money taken in the period (successful captures, and authorizations with
                    automatic capture), by when it was taken
    refunded        money given back in the period (successful refunds), by when
    revenue         captured - refunded, in total and per day, week (ISO, from Monday) or month
    refund rate     refunded / captured

A payment's method is its card's brand ("visa") when it was paid by card, else its provider
("paypal"): the instrument the customer chose. db/payment_statistics.py reads the tallies in
two statements; this module only adds them up. Rates are exact fractions rounded to 4 places.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from domain.money import Money
from domain.payments.status import PaymentStatus

PLACES = Decimal("0.0001")


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class StatisticsFilter:
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None    # exclusive
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentTally:
    """Payments of one currency, provider, method and status (one row of the first read)."""
    currency: str
    provider: str
    method: str
    status: str
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class MoneyMoved:
    """Money taken (`refund` False) or given back on one day (one row of the second read)."""
    currency: str
    day: date
    refund: bool
    amount_minor: int


def rate(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(part) / Decimal(whole)).quantize(PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class SuccessRate:
    key: str
    succeeded: int
    failed: int
    volume: Money  # of the succeeded payments

    @property
    def success_rate(self) -> Decimal | None:
        return rate(self.succeeded, self.succeeded + self.failed)


@dataclass(frozen=True, slots=True)
class RevenueBucket:
    start: date
    captured: Money
    refunded: Money

    @property
    def revenue(self) -> Money:
        return self.captured - self.refunded


@dataclass(frozen=True, slots=True)
class CurrencyStatistics:
    currency: str
    payment_count: int
    volume: Money
    by_status: dict[str, int]
    by_method: list[SuccessRate]
    by_provider: list[SuccessRate]
    captured: Money
    refunded: Money
    series: list[RevenueBucket]

    @property
    def succeeded(self) -> int:
        return self.by_status.get(PaymentStatus.SUCCEEDED.value, 0)

    @property
    def failed(self) -> int:
        return self.by_status.get(PaymentStatus.FAILED.value, 0)

    @property
    def success_rate(self) -> Decimal | None:
        return rate(self.succeeded, self.succeeded + self.failed)

    @property
    def revenue(self) -> Money:
        return self.captured - self.refunded

    @property
    def refund_rate(self) -> Decimal | None:
        return rate(self.refunded.minor, self.captured.minor)


def bucket_start(day: date, bucket: Bucket) -> date:
    if bucket is Bucket.WEEK:
        return day - timedelta(days=day.weekday())
    if bucket is Bucket.MONTH:
        return day.replace(day=1)
    return day


def _rates(tallies: list[PaymentTally], key: str, currency: str) -> list[SuccessRate]:
    grouped: dict[str, list[int]] = {}
    for t in tallies:
        counts = grouped.setdefault(getattr(t, key), [0, 0, 0])
        if t.status == PaymentStatus.SUCCEEDED.value:
            counts[0] += t.count
            counts[2] += t.amount_minor
        elif t.status == PaymentStatus.FAILED.value:
            counts[1] += t.count
    return [SuccessRate(k, ok, failed, Money.of(minor, currency)) for k, (ok, failed, minor) in sorted(grouped.items())]


def summarize(tallies: Iterable[PaymentTally], moved: Iterable[MoneyMoved], bucket: Bucket) -> list[CurrencyStatistics]:
    """The figures per currency, currencies in alphabetical order, buckets oldest first."""
    by_currency: dict[str, list[PaymentTally]] = {}
    for t in tallies:
        by_currency.setdefault(t.currency, []).append(t)
    flows: dict[str, dict[date, list[int]]] = {}
    for m in moved:
        sums = flows.setdefault(m.currency, {}).setdefault(bucket_start(m.day, bucket), [0, 0])
        sums[m.refund] += m.amount_minor
    found = []
    for code in sorted(set(by_currency) | set(flows)):
        rows = by_currency.get(code, [])
        statuses: dict[str, int] = {}
        for t in rows:
            statuses[t.status] = statuses.get(t.status, 0) + t.count
        series = [RevenueBucket(start, Money.of(taken, code), Money.of(back, code))
                  for start, (taken, back) in sorted(flows.get(code, {}).items())]
        found.append(CurrencyStatistics(
            currency=code, payment_count=sum(t.count for t in rows),
            volume=Money.of(sum(t.amount_minor for t in rows), code), by_status=statuses,
            by_method=_rates(rows, "method", code), by_provider=_rates(rows, "provider", code),
            captured=Money.of(sum(b.captured.minor for b in series), code),
            refunded=Money.of(sum(b.refunded.minor for b in series), code), series=series))
    return found
