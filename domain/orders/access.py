"""Who may see an order: its buyer, a seller with a line in it, staff and admins.

Anyone else gets exactly what a missing order gets (NotFoundError): an order's existence is
itself private.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.identity import Actor, Role
from domain.orders.model import Address, Order, OrderStatus


def can_see(actor: Actor | None, order: Order) -> bool:
    if actor is None:
        return False
    if actor.is_staff or order.buyer_id == actor.user_id:
        return True
    return actor.has(Role.SELLER) and actor.user_id in order.seller_ids


def can_see_address(actor: Actor | None, address: Address) -> bool:
    """An address by itself is its owner's and staff's; a seller sees one only as the shipping
    address of an order of theirs (through the order)."""
    return actor is not None and (actor.is_staff or address.user_id == actor.user_id)


@dataclass(frozen=True, slots=True)
class OrderScope:
    """What part of all orders a list shows, decided from the actor alone."""
    buyer_id: int | None = None     # only this buyer's orders
    seller_id: int | None = None    # only orders with a line of this seller
    everything: bool = False


def scope_for(actor: Actor, *, as_seller: bool = False) -> OrderScope:
    if actor.is_staff:
        return OrderScope(everything=True)
    if as_seller or (actor.has(Role.SELLER) and not actor.has(Role.CUSTOMER)):
        return OrderScope(seller_id=actor.user_id) if actor.has(Role.SELLER) else OrderScope(buyer_id=actor.user_id)
    return OrderScope(buyer_id=actor.user_id)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    statuses: tuple[OrderStatus, ...] = ()
    created_from: object | None = None   # datetime
    created_to: object | None = None     # datetime
    buyer_id: int | None = None          # staff only; ignored for others (their scope decides)
    seller_id: int | None = None
