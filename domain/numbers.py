"""Human-readable numbers (ORD-…, TXN-…, REF-…) derived from integer ids.

A random code collides: 6 base-32 characters give ~1e9 codes, and by the birthday bound a
shop with a few tens of thousands of orders would already see duplicates. Scrambling the id
with a multiplicative bijection modulo the code space makes every number unique by construction
while still not revealing the order count at a glance. Ids past the code space get longer codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: nothing to misread
_HEX = "0123456789ABCDEF"


def _scrambled(value: int, alphabet: str, width: int, multiplier: int) -> str:
    base = len(alphabet)
    space = base**width
    # multiplier is odd and so coprime with a power of two: x -> x * m mod space is a bijection.
    n = (value * multiplier) % space + (value // space) * space
    digits: list[str] = []
    while n or len(digits) < width:
        n, r = divmod(n, base)
        digits.append(alphabet[r])
    return "".join(reversed(digits))


@dataclass(frozen=True, slots=True)
class Scheme:
    """How one kind of number is made from an id (db/numbering.py computes the same in SQL)."""

    prefix: str
    alphabet: str
    width: int
    multiplier: int

    def __call__(self, value: int) -> str:
        return self.prefix + _scrambled(value, self.alphabet, self.width, self.multiplier)


ORDER_NUMBER = Scheme("ORD-", _CROCKFORD, 6, 0x2F3A_B5D1)
PAYMENT_NUMBER = Scheme("TXN-", _HEX, 12, 0x9E37_79B9_7F4B)
REFUND_NUMBER = Scheme("REF-", _HEX, 12, 0xC2B2_AE3D_27D5)


def order_number(order_id: int) -> str:
    return ORDER_NUMBER(order_id)


def payment_number(payment_id: int) -> str:
    return PAYMENT_NUMBER(payment_id)


def refund_number(refund_id: int) -> str:
    return REFUND_NUMBER(refund_id)


def attempt_uuid(payment_uuid: UUID, seq: int) -> UUID:
    """An attempt's UUID (a refund's, to clients), derived: known before and after it is stored."""
    return uuid5(payment_uuid, f"attempt-{seq}")
