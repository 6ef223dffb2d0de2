"""Money: exact minor units with each currency's own exponent; never float."""
from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import CurrencyMismatchError, InvalidAmountError, UnknownCurrencyError
from domain.money import Money, currency


@pytest.mark.parametrize(("text", "code", "minor", "decimal"), [
    ("1500", "JPY", 1500, "1500"),
    ("29.99", "USD", 2999, "29.99"),
    ("29.9", "USD", 2990, "29.90"),
    ("0.01", "USD", 1, "0.01"),
    ("1.250", "KWD", 1250, "1.250"),
    ("0.001", "KWD", 1, "0.001"),
    ("92233720368547758.07", "USD", 9_223_372_036_854_775_807, "92233720368547758.07"),
])
def test_a_decimal_string_parses_exactly_to_minor_units_and_back(text, code, minor, decimal):
    money = Money.parse_decimal(text, code)

    assert (money.minor, money.decimal) == (minor, decimal)


@pytest.mark.parametrize(("text", "code"), [("1.5", "JPY"), ("29.999", "USD"), ("1.2345", "KWD")])
def test_more_decimals_than_the_currency_has_are_refused(text, code):
    with pytest.raises(InvalidAmountError):
        Money.parse_decimal(text, code)


@pytest.mark.parametrize("text", ["", "abc", "1e3", "1,00", "NaN", "Infinity", " . ", "1.", ".5", "0x10"])
def test_text_that_is_not_a_plain_decimal_is_refused(text):
    with pytest.raises(InvalidAmountError):
        Money.parse_decimal(text, "USD")


def test_floats_are_refused_as_amounts_and_as_minor_units():
    with pytest.raises(InvalidAmountError):
        Money.parse_decimal(29.99, "USD")
    with pytest.raises(InvalidAmountError):
        Money(29.99, currency("USD"))
    with pytest.raises(InvalidAmountError):
        Money(True, currency("USD"))


def test_decimal_objects_parse_exactly():
    assert Money.parse_decimal(Decimal("0.10"), "USD").minor == 10


def test_arithmetic_across_currencies_is_refused():
    with pytest.raises(CurrencyMismatchError):
        Money.of(100, "USD") + Money.of(100, "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of(100, "USD") < Money.of(100, "EUR")


def test_arithmetic_within_a_currency_is_exact():
    price = Money.of(1999, "USD")

    assert price * 3 + Money.of(3, "USD") - Money.of(1, "USD") == Money.of(5999, "USD")
    assert -price == Money.of(-1999, "USD")


@pytest.mark.parametrize(("minor", "code", "formatted"), [
    (123456, "USD", "$1,234.56"), (150000, "JPY", "¥150,000"), (1250, "KWD", "KD 1.250"),
    (-5, "USD", "-$0.05"), (999, "CHF", "CHF 9.99"),
])
def test_formatting_for_display_uses_the_exponent_and_symbol(minor, code, formatted):
    assert Money.of(minor, code).formatted == formatted


def test_basis_points_round_half_up_to_the_minor_unit():
    assert Money.of(1005, "USD").basis_points(1000).minor == 101  # 100.5 -> 101
    assert Money.of(1004, "USD").basis_points(1000).minor == 100


def test_unknown_currency_codes_are_refused():
    with pytest.raises(UnknownCurrencyError):
        Money.of(1, "XXX")


def test_currency_codes_are_case_insensitive_and_shared():
    assert currency("usd") is currency("USD")


def test_copies_and_pickles_keep_the_shared_currency():
    import copy
    import pickle

    price = Money.of(1999, "USD")

    assert copy.deepcopy(price) + price == Money.of(3998, "USD")
    assert pickle.loads(pickle.dumps(price)).currency is price.currency
