"""Our books per seller against the provider's: a connected account's balance at the provider
should equal what our ledger says is there (transferred, not yet paid out or in transit).

Each pass takes the accounts checked longest ago (a bounded batch), asks the provider for the
balance and records every difference (`market_differences`, staff-visible), which the worker logs
and counts in a metric. A difference is reported, never "fixed": a human decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import ProviderUnavailableError
from domain.ledger import accounts as acc
from domain.marketplace.connect import ConnectProvider
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Difference:
    seller_id: int
    currency: str
    ours: int    # minor units our ledger has on the connected account
    theirs: int  # what the provider's balance says


async def reconcile_sellers(uow: UnitOfWork, connect: ConnectProvider, now: datetime,
                            limit: int = 50) -> tuple[int, list[Difference]]:
    """How many accounts were compared, and the differences found."""
    async with uow:
        accounts = await uow.market.accounts_to_reconcile(limit, now)
        await uow.commit()
    differences: list[Difference] = []
    compared = 0
    for account in accounts:
        if account.provider_ref is None or account.provider != connect.name:
            continue
        try:
            theirs = (await connect.balance(account.provider_ref)).amounts
        except ProviderUnavailableError:
            continue
        compared += 1
        async with uow:
            for code in sorted(set(theirs) | await uow.market.currencies_of(account.seller_id)):
                ours = await uow.market.balance(acc.seller_transferred(account.seller_id, code))
                if ours.minor != theirs.get(code, 0):
                    found = Difference(account.seller_id, code, ours.minor, theirs.get(code, 0))
                    differences.append(found)
                    await uow.market.record_difference(found.seller_id, code, found.ours, found.theirs, now)
            await uow.commit()
    return compared, differences
