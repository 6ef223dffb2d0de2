"""The two reads behind payment statistics (domain/payments/statistics.py adds them up): payments
tallied by currency, provider, method and status; money taken and given back per currency and
day. Two statements whatever the number of payments, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as core_select
from sqlmodel import col

from db.engine import Database
from db.payment_tables import PaymentAttemptRow, PaymentRow
from domain.payments.statistics import (
    Bucket,
    CurrencyStatistics,
    MoneyMoved,
    PaymentTally,
    StatisticsFilter,
    summarize,
)
from domain.payments.status import AttemptKind, AttemptStatus


def _day(db: Database, column):
    # Timestamps are stored in UTC (SQLite keeps the wall-clock text, PostgreSQL a timestamptz).
    if db.is_sqlite:
        return func.strftime("%Y-%m-%d", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _between(column, flt: StatisticsFilter) -> list:
    where = []
    if flt.created_from is not None:
        where.append(col(column) >= flt.created_from)
    if flt.created_to is not None:
        where.append(col(column) < flt.created_to)
    return where


async def payment_statistics(db: Database, flt: StatisticsFilter, bucket: Bucket = Bucket.DAY
                             ) -> list[CurrencyStatistics]:
    method = func.coalesce(PaymentRow.card_brand, PaymentRow.provider)
    tallies = (core_select(col(PaymentRow.currency), col(PaymentRow.provider), method, col(PaymentRow.status), func.count(),
                      func.sum(PaymentRow.amount_minor))
               .where(*_between(PaymentRow.created_at, flt))
               .group_by(PaymentRow.currency, PaymentRow.provider, method, PaymentRow.status))
    # Money taken: a capture, or an authorization that captured at once; given back: a refund.
    taken = or_(PaymentAttemptRow.kind == AttemptKind.CAPTURE.value,
                and_(PaymentAttemptRow.kind == AttemptKind.AUTHORIZE.value, PaymentRow.capture_method == "automatic"))
    is_refund = case((PaymentAttemptRow.kind == AttemptKind.REFUND.value, 1), else_=0)
    day = _day(db, PaymentAttemptRow.updated_at)
    moved = (core_select(col(PaymentRow.currency), day, is_refund, func.sum(PaymentAttemptRow.amount_minor))
             .join(PaymentRow, PaymentRow.id == PaymentAttemptRow.payment_id)
             .where(PaymentAttemptRow.status == AttemptStatus.SUCCEEDED.value,
                    or_(taken, PaymentAttemptRow.kind == AttemptKind.REFUND.value),
                    *_between(PaymentAttemptRow.updated_at, flt))
             .group_by(PaymentRow.currency, day, is_refund))
    if flt.currency is not None:
        tallies = tallies.where(PaymentRow.currency == flt.currency)
        moved = moved.where(PaymentRow.currency == flt.currency)
    async with db.read_sessions() as session:
        tally_rows = (await session.exec(tallies)).all()  # type: ignore[call-overload]
        moved_rows = (await session.exec(moved)).all()  # type: ignore[call-overload]
    return summarize(
        [PaymentTally(c, p, m, s, int(n), int(a or 0)) for c, p, m, s, n, a in tally_rows],
        [MoneyMoved(c, date.fromisoformat(d), bool(r), int(a or 0)) for c, d, r, a in moved_rows],
        bucket)
