"""A stored object's id (`pk`), and re-reads of objects seen a moment ago (domain/stored.py)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvariantViolation, NotFoundError
from domain.money import Money
from domain.payments.model import Payment
from domain.stored import NotStoredError, existing, stored

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _new_payment() -> Payment:
    return Payment.new(order_id=None, buyer_id=7, provider="dummy", amount=Money.of(500, "USD"), now=NOW)


def test_a_new_object_has_no_id_yet_and_asking_for_it_is_a_bug_not_input():
    payment = _new_payment()

    with pytest.raises(NotStoredError) as raised:
        _ = payment.pk

    assert isinstance(raised.value, InvariantViolation)
    assert "payment id" in str(raised.value)


def test_a_stored_object_has_its_id_as_pk():
    payment = _new_payment()

    payment.id = 41

    assert payment.pk == 41
    assert stored("order number", "ORD-1") == "ORD-1"


def test_an_object_gone_between_two_reads_is_not_found():
    assert existing(_new_payment(), "payment", 1).buyer_id == 7

    with pytest.raises(NotFoundError) as raised:
        existing(None, "payment", 12)

    assert (raised.value.kind, raised.value.ident) == ("payment", 12)
