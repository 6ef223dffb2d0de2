"""The risk rules and decision, table-driven, with the in-process counters."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.cards import CardInput
from domain.money import Money
from domain.risk.model import Decision, Signals, Thresholds, Verdict, card_fingerprint, decide
from domain.risk.rules import evaluate, note_decline
from paygate.risk_counters import LocalCounters

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
T = Thresholds(buyer_attempts=2, card_attempts=2, address_attempts=2, amount_limits={"USD": 10_000},
               card_testing_declines=3)


def signals(**changes) -> Signals:
    base = dict(buyer_id=1, amount=Money.of(100, "USD"), card_fingerprint="fp", client_address="10.0.0.1")
    return Signals(**(base | changes))


def scores(verdicts: tuple[Verdict, ...]) -> dict[str, int]:
    return {v.rule: v.score for v in verdicts if v.score}


@pytest.mark.parametrize(("total", "decision"), [(0, Decision.ALLOW), (49, Decision.ALLOW), (50, Decision.REVIEW),
                                                 (99, Decision.REVIEW), (100, Decision.BLOCK), (180, Decision.BLOCK)])
def test_the_scores_add_up_to_the_decision(total, decision):
    assert decide((Verdict("a", total // 2, ""), Verdict("b", total - total // 2, "")), Thresholds())[0] is decision


async def test_attempts_over_each_limit_in_the_window_score_velocity_and_old_ones_drop_out():
    counters = LocalCounters()
    for n in range(2):
        assert scores(await evaluate(signals(), f"a{n}", counters, T, NOW)) == {}

    third = scores(await evaluate(signals(), "a2", counters, T, NOW))
    later = scores(await evaluate(signals(), "a3", counters, T, NOW + timedelta(seconds=T.window_s + 1)))

    assert third == {"velocity_buyer": 50, "velocity_card": 50, "velocity_address": 50}
    assert later == {}


@pytest.mark.parametrize(("amount", "scored"), [(Money.of(10_000, "USD"), {}),
                                                (Money.of(10_001, "USD"), {"amount_limit": 60}),
                                                (Money.of(10_000_000, "JPY"), {})])
async def test_an_amount_over_its_currencys_limit_scores_and_other_currencies_have_none(amount, scored):
    assert scores(await evaluate(signals(amount=amount), "a", LocalCounters(), T, NOW)) == scored


async def test_small_declines_of_distinct_cards_are_card_testing_and_the_same_card_again_is_not():
    counters = LocalCounters()
    for card in ("c1", "c1", "c2"):
        await note_decline(signals(card_fingerprint=card), counters, T, NOW)
    two_cards = scores(await evaluate(signals(card_fingerprint="c9"), "a", counters, T, NOW))
    await note_decline(signals(card_fingerprint="c3", buyer_id=2), counters, T, NOW)  # same address, other buyer

    three_cards = scores(await evaluate(signals(card_fingerprint="c9", buyer_id=3), "b", counters, T, NOW))

    assert "card_testing" not in two_cards
    assert three_cards == {"card_testing": 100}


async def test_a_large_decline_is_not_counted_as_card_testing():
    counters = LocalCounters()
    for card in ("c1", "c2", "c3"):
        await note_decline(signals(card_fingerprint=card, amount=Money.of(501, "USD")), counters, T, NOW)

    assert "card_testing" not in scores(await evaluate(signals(), "a", counters, T, NOW))


@pytest.mark.parametrize(("billing", "card", "scored"), [("FR", "US", {"country_mismatch": 30}), ("us", "US", {}),
                                                         (None, "US", {}), ("FR", None, {})])
async def test_a_billing_country_other_than_the_cards_scores_where_both_are_known(billing, card, scored):
    found = await evaluate(signals(billing_country=billing, card_country=card), "a", LocalCounters(), T, NOW)

    assert scores(found) == scored


def test_a_fingerprint_names_the_card_without_holding_its_number():
    visa = CardInput("4242 4242 4242 4242", 12, 2034, "123")

    fingerprint = card_fingerprint(visa, None, b"key")

    assert fingerprint == card_fingerprint(CardInput("4242424242424242", 1, 2030, "999"), None, b"key")
    assert fingerprint != card_fingerprint(visa, None, b"other key")
    assert "4242" not in fingerprint and len(fingerprint) == 32
    assert card_fingerprint(None, None, b"key") is None
