"""Card numbers: Luhn, brands, expiry, CVC, and that a full number never shows."""
import pickle
from datetime import date

import pytest

from domain.cards import (
    Brand,
    CardInput,
    CardSummary,
    check_cvc,
    check_expiry,
    detect_brand,
    luhn_valid,
    normalize_number,
    validate_number,
)
from domain.errors import ValidationError

TODAY = date(2026, 6, 15)


def with_check_digit(body: str) -> str:
    """`body` plus the digit that makes it pass Luhn."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


# Stripe's published test numbers, one or two per brand.
@pytest.mark.parametrize(("number", "brand"), [
    ("4242424242424242", Brand.VISA),
    ("4000056655665556", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("371449635398431", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("6445644564456445", Brand.DISCOVER),
    ("3566002020360505", Brand.JCB),
    ("3056930009020004", Brand.DINERS),
    ("36227206271667", Brand.DINERS),
    ("6200000000000005", Brand.UNIONPAY),
])
def test_published_test_numbers_pass_and_are_named_by_their_brand(number, brand):
    digits, detected = validate_number(number)

    assert digits == number
    assert detected is brand


@pytest.mark.parametrize(("prefix", "brand"), [
    ("4", Brand.VISA), ("51", Brand.MASTERCARD), ("55", Brand.MASTERCARD), ("2221", Brand.MASTERCARD),
    ("2720", Brand.MASTERCARD), ("34", Brand.AMEX), ("37", Brand.AMEX), ("6011", Brand.DISCOVER),
    ("644", Brand.DISCOVER), ("649", Brand.DISCOVER), ("65", Brand.DISCOVER), ("3528", Brand.JCB),
    ("3589", Brand.JCB), ("300", Brand.DINERS), ("305", Brand.DINERS), ("3095", Brand.DINERS),
    ("36", Brand.DINERS), ("38", Brand.DINERS), ("39", Brand.DINERS), ("62", Brand.UNIONPAY),
    ("81", Brand.UNIONPAY),
    ("2220", Brand.UNKNOWN), ("2721", Brand.UNKNOWN), ("50", Brand.UNKNOWN), ("56", Brand.UNKNOWN),
    ("3527", Brand.UNKNOWN), ("3590", Brand.UNKNOWN), ("306", Brand.UNKNOWN), ("6012", Brand.UNKNOWN),
    ("643", Brand.UNKNOWN), ("1", Brand.UNKNOWN), ("9", Brand.UNKNOWN),
])
def test_the_brand_follows_the_issuer_ranges_at_both_ends(prefix, brand):
    number = prefix.ljust(16, "0")

    assert detect_brand(number) is brand


def test_spaces_and_dashes_are_ignored_in_a_typed_number():
    assert normalize_number("4242 4242-4242 4242") == "4242424242424242"


@pytest.mark.parametrize("raw", [
    "4242424242424241",  # one digit off: Luhn fails
    "4242 4242 4242 424x",
    "42424242424",  # 11 digits
    "42424242424242424242",  # 20 digits
    "",
    "４２４２４２４２４２４２４２４２",  # full-width digits are digits to Python, not to a card network
])
def test_malformed_numbers_are_refused_as_a_card_number_error(raw):
    with pytest.raises(ValidationError) as refused:
        validate_number(raw)

    assert refused.value.field == "card_number"
    assert raw.replace(" ", "") not in str(refused.value) or raw == ""


def test_a_number_whose_length_its_brand_never_issues_is_refused():
    fourteen_digit_visa = with_check_digit("4242424242424")
    fifteen_digit_mastercard = with_check_digit("55555555555544")

    for number in (fourteen_digit_visa, fifteen_digit_mastercard):
        with pytest.raises(ValidationError):
            validate_number(number)


def test_a_luhn_valid_number_of_an_unknown_issuer_passes():
    number = with_check_digit("999999999999999")

    assert validate_number(number) == (number, Brand.UNKNOWN)


@pytest.mark.parametrize(("month", "year", "expected"), [
    (6, 2026, (6, 2026)),  # valid to the end of its month
    ("12", "27", (12, 2027)),
    (12, 27, (12, 2027)),
    ("07", "2030", (7, 2030)),
    (" 1 ", " 2031 ", (1, 2031)),
    (1, 2076, (1, 2076)),
])
def test_a_future_expiry_is_read_as_month_and_four_digit_year(month, year, expected):
    assert check_expiry(month, year, TODAY) == expected


@pytest.mark.parametrize(("month", "year"), [
    (5, 2026),  # last month
    (12, 25),
    ("12", "77"),  # 1977, not 2077
    (0, 2030), (13, 2030), ("1a", 2030), (True, 2030),
    (1, "202"), (1, 2077), (1, -30), (1, 2030.0), ("", 2030), (1, "20301"),
])
def test_a_past_or_malformed_expiry_is_an_expiry_error(month, year):
    with pytest.raises(ValidationError) as refused:
        check_expiry(month, year, TODAY)

    assert refused.value.field == "expiry"


def test_two_digit_years_near_a_century_turn_pick_the_nearest_year():
    new_year_2099 = date(2099, 1, 1)

    assert check_expiry(1, "01", new_year_2099) == (1, 2101)
    assert check_expiry(1, "99", new_year_2099) == (1, 2099)


@pytest.mark.parametrize(("cvc", "brand", "ok"), [
    ("123", Brand.VISA, True), ("012", Brand.MASTERCARD, True), ("1234", Brand.AMEX, True),
    ("12", Brand.VISA, False), ("1234", Brand.VISA, False), ("123", Brand.AMEX, False),
    ("12a", Brand.VISA, False), (123, Brand.VISA, False), ("", Brand.UNKNOWN, False),
])
def test_the_security_code_has_four_digits_for_amex_and_three_for_the_rest(cvc, brand, ok):
    if ok:
        check_cvc(cvc, brand)
    else:
        with pytest.raises(ValidationError) as refused:
            check_cvc(cvc, brand)
        assert refused.value.field == "cvc"


def test_validating_a_card_input_gives_the_summary_that_may_be_kept():
    card = CardInput("3782 822463 10005", "4", "28", "1234")

    summary = card.validate(TODAY)

    assert summary == CardSummary(Brand.AMEX, "0005", 4, 2028)
    assert summary.display == "amex •••• 0005 04/2028"


@pytest.mark.parametrize(("card", "field"), [
    (CardInput("4242424242424241", 1, 2020, "1"), "card_number"),  # number is checked first
    (CardInput("4242424242424242", 1, 2020, "1"), "expiry"),
    (CardInput("4242424242424242", 1, 2030, "1"), "cvc"),
])
def test_a_card_input_is_checked_number_then_expiry_then_cvc(card, field):
    with pytest.raises(ValidationError) as refused:
        card.validate(TODAY)

    assert refused.value.field == field


def test_a_card_input_never_shows_more_than_its_last_four_digits():
    card = CardInput("4242 4242 4242 4242", "12", "2030", "987")

    shown = [repr(card), str(card), f"{card}", f"{card!r}", f"{card:>40}", repr([card]), repr({"c": card})]

    for text in shown:
        assert "4242424242424242" not in text
        assert "4242 4242 4242" not in text
        assert "987" not in text and "2030" not in text
    assert "4242" in repr(card) and "4242" in str(card)


def test_a_card_input_refuses_to_be_pickled():
    card = CardInput("4242424242424242", 12, 2030, "123")

    with pytest.raises(TypeError):
        pickle.dumps(card)


def test_a_card_summary_cannot_hold_more_than_four_digits():
    with pytest.raises(ValidationError):
        CardSummary(Brand.VISA, "4242424242424242", 12, 2030)

    with pytest.raises(ValidationError):
        CardSummary(Brand.VISA, "4242", 13, 2030)


def test_a_card_summary_from_stored_text_gets_its_brand_back():
    summary = CardSummary("visa", "4242", 12, 2030)  # type: ignore[arg-type]

    assert summary.brand is Brand.VISA
    assert "4242" in repr(summary)
