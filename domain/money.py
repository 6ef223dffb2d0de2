"""Money: integer minor units of an ISO 4217 currency, never float.

Each currency carries its own exponent (JPY 0, USD 2, KWD 3). Decimal strings exist only at the
edges that show them (a seed's JSON, a provider's wire format); `parse_decimal` reads them exactly
and refuses more decimals than the currency has.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import CurrencyMismatchError, InvalidAmountError, UnknownCurrencyError


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int
    symbol: str

    def __str__(self) -> str:
        return self.code

    def __reduce__(self) -> tuple[Callable[[str], Currency], tuple[str]]:
        # Money compares currencies by identity: a copy or an unpickled value must be the shared one.
        return (currency, (self.code,))


# ISO 4217 minor-unit exponents. Zero- and three-decimal currencies are listed in full because
# getting them wrong is off by a factor of 100 or 10; the rest are the common two-decimal ones.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_TWO = ("AED ARS AUD BDT BGN BRL CAD CHF CNY COP CZK DKK EGP EUR GBP GHS HKD HUF IDR ILS INR "
        "KES MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD RUB SAR SEK SGD THB TRY TWD "
        "TZS UAH USD ZAR ZMW")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "NGN": "₦", "KWD": "KD "}

CURRENCIES: dict[str, Currency] = {
    code: Currency(code, exponent, _SYMBOLS.get(code, code + " "))
    for exponent, codes in ((0, _ZERO), (2, _TWO), (3, _THREE))
    for code in codes.split()
}


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except (KeyError, AttributeError):
        raise UnknownCurrencyError(code) from None


# ASCII digits only, nothing around them: `\d` and Decimal() also read "１.００" and "١", strip()
# forgives " 1.00", and `$` lets a trailing newline through. An amount is written one way.
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_MINOR = 2**63 - 1  # amounts are BIGINT columns and 64-bit on every provider's wire


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _too_large(raw: str, cur: Currency) -> InvalidAmountError:
    return InvalidAmountError(f"{_quoted(raw)} is too large: an amount is at most "
                              f"{Money(MAX_MINOR, cur).decimal} {cur.code}")


@dataclass(frozen=True, slots=True)
class Money:
    minor: int  # cents for USD, yen for JPY, fils for KWD
    currency: Currency

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # bool and float are refused: money is never either
            raise InvalidAmountError(f"minor units must be an int, not {type(self.minor).__name__}")

    @classmethod
    def of(cls, minor: int, code: str) -> Money:
        return cls(minor, currency(code))

    @classmethod
    def zero(cls, code: str) -> Money:
        return cls(0, currency(code))

    @classmethod
    def parse_decimal(cls, text: str | int | Decimal, code: str) -> Money:
        """Exact major-unit text ("29.99", "1500") to minor units; never through float."""
        cur = currency(code)
        raw = str(text)
        if isinstance(text, float) or not _DECIMAL.fullmatch(raw):
            raise InvalidAmountError(f'{_quoted(raw)} is not a decimal amount like "29.99" (ASCII digits, '
                                     f'no spaces)')
        if len(raw.lstrip("-").partition(".")[0].lstrip("0")) > 19:  # before building a huge number
            raise _too_large(raw, cur)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise InvalidAmountError(f"{text!r} is not a decimal amount") from None
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int):  # NaN or infinity: _DECIMAL lets neither through
            raise InvalidAmountError(f"{text!r} is not a decimal amount")
        places = -exponent if "." in raw else 0
        if places > cur.exponent:
            raise InvalidAmountError(f"{cur.code} takes at most {cur.exponent} decimal places, got {raw}")
        minor = int(value.scaleb(cur.exponent))
        if abs(minor) > MAX_MINOR:
            raise _too_large(raw, cur)
        return cls(minor, cur)

    @property
    def code(self) -> str:
        return self.currency.code

    @property
    def decimal(self) -> str:
        """Exact major-unit string: "29.99" for USD, "1500" for JPY, "1.250" for KWD."""
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    @property
    def formatted(self) -> str:
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp)
        body = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
        return f"{sign}{self.currency.symbol}{body}"

    def _same(self, other: Money) -> None:
        if other.currency is not self.currency:
            raise CurrencyMismatchError(self.currency.code, other.currency.code)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise InvalidAmountError("money is multiplied by whole quantities only")
        return Money(self.minor * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def basis_points(self, bps: int) -> Money:
        """A share in basis points, rounded half up to the minor unit (used for fees)."""
        return Money((self.minor * bps + 5_000) // 10_000, self.currency)

    def __str__(self) -> str:
        return f"{self.decimal} {self.code}"
