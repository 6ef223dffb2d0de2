"""Repositories over one session: the domain's ports (domain/ports.py), implemented in SQL."""
from __future__ import annotations

from sqlalchemy import delete, func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import product_from_row
from db.stock import live_reservations, products_with_reserved
from db.tables import CartItemRow, ProductRow, utcnow
from domain.catalog.model import Cart, CartLine, Product


class SqlProducts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: int) -> Product | None:
        found = (await self.session.exec(products_with_reserved(utcnow()).where(ProductRow.id == product_id))).first()
        return product_from_row(*found) if found else None


class SqlCarts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> Cart:
        reserved = live_reservations(utcnow())
        rows = await self.session.exec(
            select(CartItemRow, ProductRow, func.coalesce(reserved.c.reserved, 0))
            .join(ProductRow, ProductRow.id == CartItemRow.product_id)
            .outerjoin(reserved, reserved.c.product_id == ProductRow.id)
            .where(CartItemRow.user_id == user_id)
            .order_by(CartItemRow.id)
        )
        return Cart(user_id, tuple(CartLine(product_from_row(p, held), item.quantity) for item, p, held in rows))

    async def clear(self, user_id: int) -> None:
        await self.session.exec(delete(CartItemRow).where(CartItemRow.user_id == user_id))

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> None:
        existing = (await self.session.exec(
            select(CartItemRow).where(CartItemRow.user_id == user_id, CartItemRow.product_id == product_id)
        )).first()
        if quantity == 0:
            if existing:
                await self.session.exec(delete(CartItemRow).where(CartItemRow.id == existing.id))
            return
        if existing:
            existing.quantity = quantity
            existing.updated_at = utcnow()
            self.session.add(existing)
        else:
            self.session.add(CartItemRow(user_id=user_id, product_id=product_id, quantity=quantity))
        await self.session.flush()
