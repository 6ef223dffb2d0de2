"""Decimal amounts are written one way: ASCII digits, a point, nothing around them, in 64 bits.

Python's Decimal() and a regex's \\d also read fullwidth and Arabic-Indic digits, and strip()
forgave spaces: each is refused here, in every exponent (JPY 0, USD 2, KWD 3).
"""
from __future__ import annotations

import pytest

from domain.errors import InvalidAmountError
from domain.money import MAX_MINOR, Money

EXPONENTS = [("JPY", "1500", 1500), ("USD", "15.00", 1500), ("KWD", "1.500", 1500)]
# Ways to write the amounts above that a lenient parser would take.
VARIANTS = {
    "a leading space": lambda text: " " + text,
    "a trailing space": lambda text: text + " ",
    "a trailing newline": lambda text: text + "\n",
    "a tab": lambda text: "\t" + text,
    "fullwidth digits": lambda text: text.translate(str.maketrans("0123456789.", "０１２３４５６７８９．")),
    "fullwidth digits, ASCII point": lambda text: text.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    "Arabic-Indic digits": lambda text: text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    "Extended Arabic-Indic digits": lambda text: text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
    "Devanagari digits": lambda text: text.translate(str.maketrans("0123456789", "०१२३४५६७८९")),
    "an underscore": lambda text: text[0] + "_" + text[1:],
    "a plus sign": lambda text: "+" + text,
}


@pytest.mark.parametrize(("code", "text", "minor"), EXPONENTS)
def test_plain_ascii_amounts_parse_in_every_exponent(code, text, minor):
    assert Money.parse_decimal(text, code).minor == minor


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize(("code", "text", "_minor"), EXPONENTS)
def test_an_amount_written_any_other_way_is_refused_in_every_exponent(code, text, _minor, variant):
    with pytest.raises(InvalidAmountError) as refused:
        Money.parse_decimal(VARIANTS[variant](text), code)

    assert "is not a decimal amount" in refused.value.message


@pytest.mark.parametrize(("code", "largest"), [("JPY", "9223372036854775807"), ("USD", "92233720368547758.07"),
                                               ("KWD", "9223372036854775.807")])
def test_amounts_stop_at_64_bits_of_minor_units_in_every_exponent(code, largest):
    last = largest[:-1] + "8"

    assert Money.parse_decimal(largest, code).minor == MAX_MINOR
    with pytest.raises(InvalidAmountError, match="too large"):
        Money.parse_decimal(last, code)
    with pytest.raises(InvalidAmountError, match="too large"):
        Money.parse_decimal("9" * 100_000, code)
