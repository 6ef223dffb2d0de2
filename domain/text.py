"""Free text: what a client may write into paygate, and how card numbers are masked in text that
is not ours to refuse.

Card numbers go in card fields only (domain/cards.py), where they live for one request and only
brand and last four are kept (PCI DSS 3.2-3.4). Everywhere else - a cancel or refund reason, a
staff note, an address line, a name, metadata, a return URL, a provider token - a card number is
refused: `free_text` and `refuse_card_numbers` raise a ValidationError naming the field. Every use
case calls them at its start, before its first write or provider call, so that a refused request
changes nothing; a refusal never quotes the number.

Text that arrives where refusing would be wrong is masked instead (`redact_card_numbers`): a
provider's answer being settled (the money already moved; refusing would strand it), a request
header, a log line. Masking keeps the text's length and separators and turns digits into `*`.

What counts as a card number: 13 to 19 digits passing Luhn, written plain or in groups separated
by single spaces or dashes (`4242 4242 4242 4242`, `4242-4242-4242-4242`), standing as a token of
their own. A digit run glued to letters, digits or underscores belongs to an identifier
(`pi_…e9080196…`, `ch_4242…`): refusing it would refuse a provider's own reference (one random
dummy reference in a thousand holds a Luhn-valid run), so it passes. A long ungrouped run is only
checked whole, which keeps ids and amounts from being taken for card numbers by chance.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from domain.cards import luhn_valid
from domain.errors import ValidationError

MIN_DIGITS, MAX_DIGITS = 13, 19
_DIGIT_RUN = re.compile(r"(?<!\w)[0-9]+(?:[ -][0-9]+)*(?!\w)")
_SEPARATOR = re.compile(r"[ -]")
# A card number holds MIN_DIGITS digits with at most one separator between two of them: text
# without such a stretch (nearly all text: amounts, dates, ids, names) needs no closer look, and
# one search in C is far cheaper than walking its digit runs in Python (every audit value, every
# log line passes here).
_ENOUGH_DIGITS = re.compile(rf"[0-9](?:[ -]?[0-9]){{{MIN_DIGITS - 1}}}")


def free_text(value: object, field: str, *, max_length: int, required: bool = True) -> str:
    """`value` stripped, once it is text of at most `max_length` characters holding no card
    number; empty only when not `required`. Raises ValidationError naming `field`."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text", field)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} is required", field)
    if len(value) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters", field)
    refuse_card_numbers(value, field=field)
    return value


def optional_text(value: object, field: str, *, max_length: int) -> str | None:
    """`free_text` for a field that may be left out: None when absent or blank."""
    if value is None:
        return None
    return free_text(value, field, max_length=max_length, required=False) or None


def refuse_card_numbers(*texts: str, field: str) -> None:
    """Refuse text a client sends to be stored or passed on when it carries a card number."""
    if any(looks_like_card_number(text) for text in texts):
        raise ValidationError(f"{field}: card numbers are never stored; remove it", field)


def looks_like_card_number(text: str) -> bool:
    return next(_card_spans(text), None) is not None


def redact_card_numbers(text: str) -> str:
    """`text` with every digit of every card number in it replaced by `*`."""
    spans = list(_card_spans(text))
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i].isdigit():
                chars[i] = "*"
    return "".join(chars)


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each card number in `text`. Every run of consecutive groups is tried, so
    "4242 4242 4242 4242 123" (a number followed by its security code) is caught."""
    if _ENOUGH_DIGITS.search(text) is None:
        return
    for run in _DIGIT_RUN.finditer(text):
        groups = _SEPARATOR.split(run.group())
        offsets: list[int] = []
        position = run.start()
        for group in groups:
            offsets.append(position)
            position += len(group) + 1
        for first in range(len(groups)):
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last]
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) >= MIN_DIGITS and luhn_valid(digits):
                    yield offsets[first], offsets[last] + len(groups[last])
