"""Repositories over one session: the domain's ports (domain/ports.py), implemented in SQL."""
from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import product_from_row
from db.tables import CartItemRow, ProductRow, utcnow
from domain.catalog.model import Cart, CartLine, Product


class SqlProducts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: int) -> Product | None:
        row = await self.session.get(ProductRow, product_id)
        return product_from_row(row) if row else None


class SqlCarts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> Cart:
        rows = await self.session.exec(
            select(CartItemRow, ProductRow)
            .join(ProductRow, ProductRow.id == CartItemRow.product_id)
            .where(CartItemRow.user_id == user_id)
            .order_by(CartItemRow.id)
        )
        return Cart(user_id, tuple(CartLine(product_from_row(p), item.quantity) for item, p in rows))

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
