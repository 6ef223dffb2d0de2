"""One attempt per payment and client's Idempotency-Key, and per number, enforced by the database
(partial unique indexes of the keyed and numbered attempts: db/payment_tables.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.tables import UserRow


def _attempt(payment_id: int, seq: int, client_key: str | None, number: str | None = None) -> PaymentAttemptRow:
    now = datetime.now(UTC)
    return PaymentAttemptRow(uuid=str(uuid4()), payment_id=payment_id, seq=seq, kind="capture", status="pending",
                             amount_minor=100, currency="USD", idempotency_key=str(uuid4()), client_key=client_key,
                             number=number, created_at=now, updated_at=now)


async def _payment(db) -> int:
    now = datetime.now(UTC)
    async with db.write_sessions() as session, session.begin():
        user = UserRow(email=f"{uuid4()}@example.com", name="Buyer", roles="customer")
        session.add(user)
        await session.flush()
        payment = PaymentRow(uuid=str(uuid4()), buyer_id=user.id, provider="dummy", capture_method="manual",
                             status="requires_capture", currency="USD", amount_minor=100, authorized_minor=100,
                             created_at=now, updated_at=now)
        session.add(payment)
        await session.flush()
        return payment.id


async def test_a_client_key_used_twice_on_one_payment_is_refused_by_the_database(db):
    payment_id = await _payment(db)
    async with db.write_sessions() as session, session.begin():
        session.add(_attempt(payment_id, 1, "key-1"))

    with pytest.raises(IntegrityError):
        async with db.write_sessions() as session, session.begin():
            session.add(_attempt(payment_id, 2, "key-1"))


async def test_attempts_without_a_client_key_never_collide_and_keys_are_per_payment(db):
    first, second = await _payment(db), await _payment(db)

    async with db.write_sessions() as session, session.begin():
        session.add_all([_attempt(first, 1, None), _attempt(first, 2, None), _attempt(first, 3, "key-1"),
                         _attempt(second, 1, "key-1")])

    async with db.read_sessions() as session:
        assert (await session.exec(select(func.count()).select_from(PaymentAttemptRow))).one() == 4


async def test_a_number_given_to_two_attempts_is_refused_by_the_database(db):
    first, second = await _payment(db), await _payment(db)
    async with db.write_sessions() as session, session.begin():
        session.add(_attempt(first, 1, None, "REF-TEST-1"))

    with pytest.raises(IntegrityError):
        async with db.write_sessions() as session, session.begin():
            session.add(_attempt(second, 1, None, "REF-TEST-1"))
