"""Read paths' rows as SQLAlchemy Core tuples, mapped straight to domain objects.

The API's reads (pages, loader batches, `me`) select the tables' columns and map plain tuples:
no ORM identity map, no instance state, no attribute instrumentation. That is about a third of
the ORM's cost for the same rows (STACK-NOTES.md: the payments page's reads 16.2 ms through the
ORM, 4.8 ms through Core). The write path keeps its repositories (db/payments.py, db/orders.py);
these mappers build the very same domain objects, so everything above db/ can't tell.

Each column list fixes the order the mapper unpacks: select exactly these, in this order.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.tables import OrderLineRow, OrderRow, UserRow
from domain.cards import CardSummary
from domain.identity import parse_roles
from domain.money import Money, currency
from domain.orders.model import Order, OrderLine, OrderStatus
from domain.payments import Attempt, Payment
from domain.users import User

PAYMENTS = PaymentRow.__table__  # type: ignore[attr-defined]
ATTEMPTS = PaymentAttemptRow.__table__  # type: ignore[attr-defined]
ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
LINES = OrderLineRow.__table__  # type: ignore[attr-defined]
USERS = UserRow.__table__  # type: ignore[attr-defined]


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC (db/mapping.py's `aware`).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def among(column, ids: Iterable[int], is_sqlite: bool):
    """`column IN ids`. On PostgreSQL as `= ANY(array)`: one bound parameter whatever the number
    of ids, so the statement's text is the same for every batch and SQLAlchemy's compiled cache
    and asyncpg's prepared statements are reused (an expanded IN is a new statement for each
    length, compiled and prepared again). SQLite has no arrays: there, the expanding IN."""
    values = list(ids)
    if is_sqlite:
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(BigInteger)))


# --- users ---------------------------------------------------------------------------------------

USER_COLUMNS = (USERS.c.id, USERS.c.email, USERS.c.name, USERS.c.roles, USERS.c.created_at)


def user_from_tuple(row: Sequence[Any]) -> User:
    user_id, email, name, roles, created_at = row
    return User(id=user_id, email=email, name=name, roles=parse_roles(roles), created_at=_aware(created_at))


def users_where(*where):
    return select(*USER_COLUMNS).where(*where)


# --- payments and their attempts ----------------------------------------------------------------

P, A = PAYMENTS.c, ATTEMPTS.c
PAYMENT_COLUMNS = (
    P.id, P.uuid, P.number, P.order_id, P.buyer_id, P.provider, P.capture_method, P.status, P.currency,
    P.amount_minor, P.authorized_minor, P.captured_minor, P.refunded_minor, P.disputed_minor, P.card_brand,
    P.card_last4, P.card_exp_month, P.card_exp_year, P.provider_ref, P.client_secret, P.redirect_url,
    P.decline_code, P.decline_message, P.checkout, P.metadata_json, P.created_at, P.updated_at)
ATTEMPT_COLUMNS = (
    A.id, A.seq, A.kind, A.amount_minor, A.currency, A.status, A.idempotency_key, A.provider_ref,
    A.decline_code, A.reason, A.client_key, A.created_at, A.updated_at)
PAYMENT_WIDTH = len(PAYMENT_COLUMNS)  # where a joined row's attempt columns begin


def attempt_from_tuple(row: Sequence[Any]) -> Attempt:
    (attempt_id, seq, kind, minor, code, status, key, provider_ref, decline_code, reason, client_key,
     created_at, updated_at) = row
    return Attempt(id=attempt_id, seq=seq, kind=kind, amount=Money(minor, currency(code)), status=status,
                   idempotency_key=key, provider_ref=provider_ref, decline_code=decline_code, reason=reason,
                   client_key=client_key, created_at=_aware(created_at), updated_at=_aware(updated_at))


def payment_from_tuple(row: Sequence[Any], attempts: list[Attempt]) -> Payment:
    (payment_id, uuid, number, order_id, buyer_id, provider, capture_method, status, code, amount,
     authorized, captured, refunded, disputed, brand, last4, exp_month, exp_year, provider_ref, client_secret,
     redirect_url, decline_code, decline_message, checkout, metadata, created_at, updated_at) = row[:PAYMENT_WIDTH]
    cur = currency(code)
    attempts.sort(key=_seq)
    return Payment(
        id=payment_id, uuid=UUID(uuid), number=number, order_id=order_id, buyer_id=buyer_id, provider=provider,
        amount=Money(amount, cur), capture_method=capture_method, status=status,
        amount_authorized=Money(authorized, cur), amount_captured=Money(captured, cur),
        amount_refunded=Money(refunded, cur), amount_disputed=Money(disputed, cur),
        card=CardSummary(brand, last4, exp_month, exp_year) if last4 else None, provider_ref=provider_ref,
        client_secret=client_secret, redirect_url=redirect_url, decline_code=decline_code,
        decline_message=decline_message, created_at=_aware(created_at), updated_at=_aware(updated_at),
        checkout=checkout, metadata=dict(metadata or {}), attempts=attempts)


def _seq(a: Attempt) -> int:
    return a.seq


def payments_with_attempts_where(*where):
    """Payments and their attempts in ONE statement: under READ COMMITTED each statement has its
    own snapshot, and a payment read apart from its attempts could meet a refund committed in
    between and fail the model's invariants (db/payments.py, `payments_with_attempts`)."""
    return (select(*PAYMENT_COLUMNS, *ATTEMPT_COLUMNS)
            .select_from(PAYMENTS.outerjoin(ATTEMPTS, A.payment_id == P.id)).where(*where))


def payments_from_joined(rows: Iterable[Sequence[Any]]) -> dict[int, Payment]:
    """Payments keyed by id, in the order their first row came, from `payments_with_attempts_where`."""
    heads: dict[int, Sequence[Any]] = {}
    attempts: dict[int, list[Attempt]] = {}
    for row in rows:
        payment_id = row[0]
        if payment_id not in heads:
            heads[payment_id] = row
            attempts[payment_id] = []
        if row[PAYMENT_WIDTH] is not None:
            attempts[payment_id].append(attempt_from_tuple(row[PAYMENT_WIDTH:]))
    return {pid: payment_from_tuple(head, attempts[pid]) for pid, head in heads.items()}


# --- orders and their lines ---------------------------------------------------------------------

OC, L = ORDERS.c, LINES.c
ORDER_COLUMNS = (OC.id, OC.uuid, OC.number, OC.buyer_id, OC.status, OC.currency, OC.shipping_address_id,
                 OC.reserved_until, OC.created_at, OC.updated_at, OC.cancellation_reason, OC.delivered_at)
LINE_COLUMNS = (L.order_id, L.product_id, L.seller_id, L.sku, L.name, L.unit_price_minor, L.currency, L.quantity)


def lines_of(order_ids: Sequence[int], is_sqlite: bool):
    return select(*LINE_COLUMNS).where(among(L.order_id, order_ids, is_sqlite)).order_by(L.id)


def order_from_tuple(row: Sequence[Any], lines: Sequence[Sequence[Any]]) -> Order:
    (order_id, uuid, number, buyer_id, status, code, address_id, reserved_until, created_at, updated_at,
     cancellation_reason, delivered_at) = row
    return Order(
        id=order_id, uuid=UUID(uuid), number=number, buyer_id=buyer_id, status=OrderStatus(status), currency=code,
        lines=tuple(OrderLine(product_id=product_id, seller_id=seller_id, sku=sku, name=name,
                              unit_price=Money(minor, currency(line_code)), quantity=quantity)
                    for _, product_id, seller_id, sku, name, minor, line_code, quantity in lines),
        shipping_address_id=address_id, reserved_until=_aware(reserved_until), created_at=_aware(created_at),
        updated_at=_aware(updated_at), cancellation_reason=cancellation_reason,
        delivered_at=_aware(delivered_at) if delivered_at else None)


def orders_from_rows(rows: Sequence[Sequence[Any]], lines: Iterable[Sequence[Any]]) -> list[Order]:
    by_order: dict[int, list[Sequence[Any]]] = {}
    for line in lines:
        by_order.setdefault(line[0], []).append(line)
    return [order_from_tuple(row, by_order.get(row[0], ())) for row in rows]
