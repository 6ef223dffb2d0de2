"""Who may see what of the marketplace, and the filters its lists take.

A seller sees their own account, holds, transfers and payouts; staff and admins see everyone's
(the admin listings are admins' only, as the seed says). A buyer is refused (NotAllowedError: the
seed's 403). Another seller's payout answers as a missing one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import NotAllowedError, NotFoundError, ValidationError
from domain.identity import Actor, Role
from domain.marketplace.model import PayoutRecord

MAX_PAGE = 100


def seller_scope(actor: Actor) -> int | None:
    """Whose marketplace records the actor lists: their own (a seller), or everyone's (None: staff)."""
    if actor.is_staff:
        return None
    if actor.has(Role.SELLER):
        return actor.user_id
    raise NotAllowedError("only sellers and staff see holds, transfers and payouts")


def admins_only(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowedError("only admins see this")


def visible_payout(actor: Actor, payout: PayoutRecord | None, ident: object) -> PayoutRecord:
    scope = seller_scope(actor)
    if payout is None or (scope is not None and payout.seller_id != scope):
        raise NotFoundError("payout", ident)
    return payout


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = 20
    offset: int = 0
    peek: bool = False  # one row more than MAX_PAGE, to learn whether a next page exists (Relay)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE + self.peek:
            raise ValidationError(f"page_size must be 1..{MAX_PAGE}", "page_size")
        if self.offset < 0:
            raise ValidationError("offset must be 0 or more", "offset")


@dataclass(frozen=True, slots=True)
class MarketFilter:
    """The admin listings' filters (seed 000: status, seller_id, buyer_id, from_date, to_date, search)."""

    status: str | None = None
    seller_id: int | None = None
    buyer_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    search: str | None = None

    def __post_init__(self) -> None:
        if self.search is not None and len(self.search) > 100:
            raise ValidationError("search must be at most 100 characters", "search")
