"""The rules: each reads the attempt's signals (and the shared counters) and gives a score with
its reason; a rule with nothing to say gives 0. Pure apart from the counters they read and bump.

    velocity_buyer, velocity_card, velocity_address
                     attempts in the window by the buyer, the card (its fingerprint), the client
                     address, each over its limit
    amount_limit     the amount above the currency's limit (PAYGATE_RISK_AMOUNT_LIMITS)
    card_testing     small declines of distinct cards in the window, by the buyer or from the
                     address: someone trying numbers until one works
    country_mismatch the billing country differs from the card's, where both are known

Declines are counted after the provider answers (`note_decline`), the attempts before.
"""
from __future__ import annotations

from datetime import datetime

from domain.risk.model import RiskCounters, Signals, Thresholds, Verdict


def _keys(kind: str, signals: Signals) -> dict[str, str | None]:
    return {"buyer": f"risk:{kind}:buyer:{signals.buyer_id}",
            "card": f"risk:{kind}:card:{signals.card_fingerprint}" if signals.card_fingerprint else None,
            "address": f"risk:{kind}:address:{signals.client_address}" if signals.client_address else None}


async def evaluate(signals: Signals, attempt: str, counters: RiskCounters, thresholds: Thresholds,
                   now: datetime) -> tuple[Verdict, ...]:
    """Every rule's verdict on this attempt (`attempt` names it in the velocity counters)."""
    window = thresholds.window_s
    limits = {"buyer": thresholds.buyer_attempts, "card": thresholds.card_attempts,
              "address": thresholds.address_attempts}
    verdicts = []
    for scope, key in _keys("attempts", signals).items():
        seen = await counters.hit(key, attempt, now, window) if key else 0
        over = seen > limits[scope]
        verdicts.append(Verdict(f"velocity_{scope}", thresholds.velocity_score if over else 0,
                                f"{seen} attempts by this {scope} in {window} s (limit {limits[scope]})"))
    limit = thresholds.amount_limits.get(signals.amount.code)
    over_limit = limit is not None and signals.amount.minor > limit
    verdicts.append(Verdict("amount_limit", thresholds.amount_score if over_limit else 0,
                            f"{signals.amount} against a limit of {limit} minor units" if limit is not None
                            else f"no limit for {signals.amount.code}"))
    declines = 0
    for scope, key in _keys("declines", signals).items():
        if key and scope != "card":
            declines = max(declines, await counters.count(key, now, window))
    testing = declines >= thresholds.card_testing_declines
    verdicts.append(Verdict("card_testing", thresholds.card_testing_score if testing else 0,
                            f"{declines} small declines of distinct cards in {window} s "
                            f"(limit {thresholds.card_testing_declines})"))
    billing, card = signals.billing_country, signals.card_country
    mismatch = billing is not None and card is not None and billing.upper() != card.upper()
    verdicts.append(Verdict("country_mismatch", thresholds.country_mismatch_score if mismatch else 0,
                            f"billing country {billing}, card country {card}" if billing and card
                            else "countries not known"))
    return tuple(verdicts)


async def note_decline(signals: Signals, counters: RiskCounters, thresholds: Thresholds, now: datetime) -> None:
    """A small decline of a card, counted by buyer and address with the card as the member: the
    same card declined twice is one card tried, many cards are card testing."""
    if signals.card_fingerprint is None or signals.amount.minor > thresholds.small_minor:
        return
    for scope, key in _keys("declines", signals).items():
        if key and scope != "card":
            await counters.hit(key, signals.card_fingerprint, now, thresholds.window_s)
