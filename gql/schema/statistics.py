"""Staff's root fields: `paymentStatistics` (the same figures as seed 003's admin statistics,
domain/payments/statistics.py) and `emailOutbox` (customer and admin emails, sent or waiting)."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from graphql import GraphQLError

from domain.errors import UnknownCurrencyError
from domain.money import currency
from domain.payments.statistics import Bucket, CurrencyStatistics, StatisticsFilter, SuccessRate
from gql.resolvers import statistics as resolvers
from gql.schema.money import Money
from gql.schema.relay import Connection, connection, page_request

if TYPE_CHECKING:
    from db.outbox_queries import OutboxEntry


@strawberry.enum(description="How revenue is grouped over time: per day, ISO week (from Monday) or month.")
class StatisticsBucket(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.enum
class EmailStatus(Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@strawberry.type(description="Payments decided by one method (card brand, or provider) or provider.")
class SuccessRateGroup:
    key: str
    succeeded: int
    failed: int
    success_rate: str | None = strawberry.field(description="succeeded / (succeeded + failed), 4 places; null "
                                                            "when none was decided")
    succeeded_volume: Money

    @classmethod
    def from_domain(cls, r: SuccessRate) -> SuccessRateGroup:
        return cls(key=r.key, succeeded=r.succeeded, failed=r.failed,
                   success_rate=None if r.success_rate is None else str(r.success_rate),
                   succeeded_volume=Money.from_domain(r.volume))


@strawberry.type
class StatusCount:
    status: str
    count: int


@strawberry.type(description="Money taken and given back in one period.")
class RevenueBucket:
    period_start: str = strawberry.field(description="YYYY-MM-DD: the day, the week's Monday or the month's 1st")
    captured: Money
    refunded: Money
    revenue: Money


@strawberry.type(description="The figures of one currency; currencies are never mixed.")
class CurrencyStatisticsType:
    currency: str
    payment_count: int
    volume: Money
    by_status: list[StatusCount]
    success_rate: str | None
    by_method: list[SuccessRateGroup]
    by_provider: list[SuccessRateGroup]
    captured: Money
    refunded: Money
    revenue: Money = strawberry.field(description="captured - refunded")
    refund_rate: str | None = strawberry.field(description="refunded / captured, 4 places")
    series: list[RevenueBucket]

    @classmethod
    def from_domain(cls, s: CurrencyStatistics) -> CurrencyStatisticsType:
        return cls(
            currency=s.currency, payment_count=s.payment_count, volume=Money.from_domain(s.volume),
            by_status=[StatusCount(status=k, count=v) for k, v in sorted(s.by_status.items())],
            success_rate=None if s.success_rate is None else str(s.success_rate),
            by_method=[SuccessRateGroup.from_domain(r) for r in s.by_method],
            by_provider=[SuccessRateGroup.from_domain(r) for r in s.by_provider],
            captured=Money.from_domain(s.captured), refunded=Money.from_domain(s.refunded),
            revenue=Money.from_domain(s.revenue),
            refund_rate=None if s.refund_rate is None else str(s.refund_rate),
            series=[RevenueBucket(period_start=b.start.isoformat(), captured=Money.from_domain(b.captured),
                                  refunded=Money.from_domain(b.refunded), revenue=Money.from_domain(b.revenue))
                    for b in s.series])


@strawberry.type(name="PaymentStatistics")
class PaymentStatisticsType:
    bucket: StatisticsBucket
    currencies: list[CurrencyStatisticsType]


@strawberry.type(description="An email to a customer or the admins: sent by the worker over SMTP, or waiting "
                             "in the outbox (no PAYGATE_SMTP_URL, or the server refused it).")
class OutboxEmail:
    legacy_id: int
    kind: str
    to_address: str
    subject: str
    body: str
    status: EmailStatus
    tries: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, e: OutboxEntry) -> OutboxEmail:
        return cls(legacy_id=e.id, kind=e.kind, to_address=e.to_address, subject=e.subject, body=e.body,
                   status=EmailStatus(e.status), tries=e.tries, last_error=e.last_error, created_at=e.created_at,
                   sent_at=e.sent_at)


async def resolve_payment_statistics(info: strawberry.Info, created_from: datetime | None = None,
                                     created_to: datetime | None = None, currency_code: str | None = None,
                                     bucket: StatisticsBucket = StatisticsBucket.DAY) -> PaymentStatisticsType:
    code = None
    if currency_code is not None:
        try:
            code = currency(currency_code).code
        except UnknownCurrencyError:
            raise GraphQLError(f"unknown currency {currency_code[:8]!r}", extensions={"code": "BAD_USER_INPUT"}) from None
    found = await resolvers.statistics(info.context, StatisticsFilter(created_from, created_to, code), Bucket(bucket.value))
    return PaymentStatisticsType(bucket=bucket, currencies=[CurrencyStatisticsType.from_domain(s) for s in found])


async def resolve_email_outbox(info: strawberry.Info, first: int | None = None, after: str | None = None,
                               status: EmailStatus | None = None) -> Connection[OutboxEmail]:
    req = page_request(first, after)
    rows, total = await resolvers.outbox(info.context, status=status.value if status else None,
                                         before_id=req.after_id, limit=req.limit)
    return connection([OutboxEmail.from_row(r) for r in rows], [r.id for r in rows], req, total)
