"""The ports the domain needs, as Protocols; db/ and providers/ implement them.

A UnitOfWork is one transaction: `async with uow:` opens it, `await uow.commit()` commits it,
and leaving the block without committing rolls everything back.
"""
from __future__ import annotations

from typing import Protocol, Self

from domain.catalog.model import Cart, Product


class ProductRepository(Protocol):
    async def get(self, product_id: int) -> Product | None: ...


class CartRepository(Protocol):
    async def get(self, user_id: int) -> Cart: ...

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> None: ...


class UnitOfWork(Protocol):
    products: ProductRepository
    carts: CartRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...
