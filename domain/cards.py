"""Card numbers: checking them, naming their brand, and making sure they are never kept.

Two types cross this module's border. `CardInput` is what a customer typed (number, expiry, CVC):
it lives for one request, on its way to a provider, and its `repr`/`str` show only the last four
digits so that a log line, a traceback or an f-string can't leak it. `CardSummary` (brand, last
four, expiry) is the only card data paygate may store or show (PCI DSS: no PAN, never the CVC).

Every check raises `ValidationError` with `field` "card_number", "expiry" or "cvc"; the messages
never quote the number. Providers turn these into the decline codes customers already know
(`incorrect_number`, `expired_card`, `incorrect_cvc`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import ValidationError

MIN_LENGTH, MAX_LENGTH = 12, 19  # ISO/IEC 7812 card numbers
MAX_YEARS_AHEAD = 50  # Stripe refuses expiry years further out than this; so do we


class Brand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    JCB = "jcb"
    DINERS = "diners"
    UNIONPAY = "unionpay"
    UNKNOWN = "unknown"


# Issuer identification number ranges, as (brand, lowest prefix, highest prefix) with both ends
# the same length. The longest matching prefix wins, so a narrow range can sit inside a wide one.
# Discover's co-branded 622126-622925 stays UnionPay here, as Stripe reports those cards.
_IIN_RANGES: tuple[tuple[Brand, str, str], ...] = (
    (Brand.VISA, "4", "4"),
    (Brand.MASTERCARD, "51", "55"),
    (Brand.MASTERCARD, "2221", "2720"),
    (Brand.AMEX, "34", "34"),
    (Brand.AMEX, "37", "37"),
    (Brand.DISCOVER, "6011", "6011"),
    (Brand.DISCOVER, "644", "649"),
    (Brand.DISCOVER, "65", "65"),
    (Brand.JCB, "3528", "3589"),
    (Brand.DINERS, "300", "305"),
    (Brand.DINERS, "3095", "3095"),
    (Brand.DINERS, "36", "36"),
    (Brand.DINERS, "38", "39"),
    (Brand.UNIONPAY, "62", "62"),
    (Brand.UNIONPAY, "81", "81"),
)
for _brand, _low, _high in _IIN_RANGES:
    assert len(_low) == len(_high) and _low <= _high, (_brand, _low, _high)

_LENGTHS: dict[Brand, frozenset[int]] = {
    Brand.VISA: frozenset({13, 16, 19}),
    Brand.MASTERCARD: frozenset({16}),
    Brand.AMEX: frozenset({15}),
    Brand.DISCOVER: frozenset(range(16, 20)),
    Brand.JCB: frozenset(range(16, 20)),
    Brand.DINERS: frozenset(range(14, 20)),
    Brand.UNIONPAY: frozenset(range(14, 20)),
    Brand.UNKNOWN: frozenset(range(MIN_LENGTH, MAX_LENGTH + 1)),
}


def normalize_number(raw: str) -> str:
    """The digits of a card number typed with spaces or dashes; refuses anything else."""
    if not isinstance(raw, str):
        raise ValidationError("the card number must be text", "card_number")
    digits = raw.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError("the card number may contain only digits", "card_number")
    if not MIN_LENGTH <= len(digits) <= MAX_LENGTH:
        raise ValidationError(f"a card number has {MIN_LENGTH} to {MAX_LENGTH} digits", "card_number")
    return digits


def luhn_valid(digits: str) -> bool:
    """The mod-10 check digit every card number carries (ISO/IEC 7812-1)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def detect_brand(digits: str) -> Brand:
    best, best_length = Brand.UNKNOWN, 0
    for brand, low, high in _IIN_RANGES:
        prefix = digits[: len(low)]
        if len(prefix) == len(low) and low <= prefix <= high and len(low) > best_length:
            best, best_length = brand, len(low)
    return best


def validate_number(raw: str) -> tuple[str, Brand]:
    """The normalized digits and brand of a number that passes Luhn and its brand's length."""
    digits = normalize_number(raw)
    if not luhn_valid(digits):
        raise ValidationError("the card number is not valid", "card_number")
    brand = detect_brand(digits)
    if len(digits) not in _LENGTHS[brand]:
        raise ValidationError(f"a {brand} card number cannot have {len(digits)} digits", "card_number")
    return digits, brand


def _as_int(value: int | str, what: str, max_digits: int) -> tuple[int, int]:
    """(value, number of digits written) of an int or a digit string such as "07"."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"the expiry {what} must be a number", "expiry")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        raise ValidationError(f"the expiry {what} is not valid", "expiry")
    return int(text), len(text)


def check_expiry(month: int | str, year: int | str, today: date) -> tuple[int, int]:
    """(month, four-digit year) of a card that is still valid on `today`.

    A card expires at the end of its expiry month. A two-digit year is read as the year ending in
    those digits that is nearest to `today` (within 50 years back and 49 ahead).
    """
    month_value, _ = _as_int(month, "month", 2)
    if not 1 <= month_value <= 12:
        raise ValidationError("the expiry month must be 1 to 12", "expiry")
    year_value, year_digits = _as_int(year, "year", 4)
    if year_digits <= 2 and year_value < 100:
        year_value += today.year - today.year % 100
        if year_value > today.year + 49:
            year_value -= 100
        elif year_value < today.year - 50:
            year_value += 100
    elif year_value < 1000:
        raise ValidationError("the expiry year must have two or four digits", "expiry")
    if (year_value, month_value) < (today.year, today.month):
        raise ValidationError("the card has expired", "expiry")
    if year_value > today.year + MAX_YEARS_AHEAD:
        raise ValidationError("the expiry year is too far in the future", "expiry")
    return month_value, year_value


def check_cvc(cvc: str, brand: Brand) -> None:
    """American Express prints four digits on the front; every other brand three on the back."""
    expected = 4 if brand is Brand.AMEX else 3
    # Text only: an integer would have lost a leading zero ("012") before it got here.
    if not isinstance(cvc, str) or not (cvc.isascii() and cvc.isdigit()) or len(cvc) != expected:
        raise ValidationError(f"the security code of a {brand} card has {expected} digits", "cvc")


@dataclass(frozen=True, slots=True)
class CardSummary:
    """What may be kept of a card: never the number, never the CVC."""

    brand: Brand
    last4: str
    exp_month: int
    exp_year: int

    def __post_init__(self) -> None:
        # Guards against a number (or anything longer) ever being stored as `last4`.
        if not (len(self.last4) == 4 and self.last4.isascii() and self.last4.isdigit()):
            raise ValidationError("last4 must be exactly four digits", "card_number")
        if not 1 <= self.exp_month <= 12 or not 1000 <= self.exp_year <= 9999:
            raise ValidationError("a card summary needs a month 1-12 and a four-digit year", "expiry")
        object.__setattr__(self, "brand", Brand(self.brand))

    @property
    def display(self) -> str:
        return f"{self.brand} •••• {self.last4} {self.exp_month:02d}/{self.exp_year}"


@dataclass(frozen=True, slots=True, repr=False)
class CardInput:
    """A card as typed, for one request: validate it, summarize it, pass it on, forget it.

    Construction only strips spaces and dashes from the number, so that a provider can answer a
    malformed card with the decline a customer expects instead of the request failing earlier.
    """

    number: str
    exp_month: int | str
    exp_year: int | str
    cvc: str

    def __post_init__(self) -> None:
        if isinstance(self.number, str):
            object.__setattr__(self, "number", self.number.replace(" ", "").replace("-", ""))

    @property
    def last4(self) -> str:
        tail = str(self.number)[-4:]
        return tail if len(tail) == 4 and tail.isdigit() else "????"

    def validate(self, today: date) -> CardSummary:
        """Check number, expiry and CVC (in that order, as card networks do); the card's summary."""
        digits, brand = validate_number(self.number)
        month, year = check_expiry(self.exp_month, self.exp_year, today)
        check_cvc(self.cvc, brand)
        return CardSummary(brand, digits[-4:], month, year)

    # Only the last four digits ever leave through repr, str or format: these objects end up in
    # tracebacks, debug logs and error reports, where a full number would be a PCI incident.
    def __repr__(self) -> str:
        return f"CardInput(number='**** {self.last4}', exp_month='**', exp_year='****', cvc='***')"

    def __str__(self) -> str:
        return f"card **** {self.last4}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __getstate__(self) -> None:
        raise TypeError("a CardInput is never pickled: it would carry the full card number")
