"""Repositories over one session: the domain's ports (domain/ports.py), implemented in SQL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, any_, bindparam, delete, func
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import product_from_row
from db.stock import LIVE, RESERVATIONS, products_with_reserved
from db.tables import CartItemRow, ProductRow, utcnow
from db.write_batch import WriteBatch
from domain.catalog.model import Cart, CartLine, Product

PRODUCTS = ProductRow.__table__
CART = CartItemRow.__table__


def reserved_now(now: datetime):
    """What live reservations hold of the product of the row, as a correlated subquery (it reads
    the reservations of that product only, by ix_stock_reservations_live)."""
    return (core_select(func.coalesce(func.sum(RESERVATIONS.c.quantity), 0))
            .where(RESERVATIONS.c.product_id == PRODUCTS.c.id, LIVE,
                   RESERVATIONS.c.expires_at > now)
            .scalar_subquery())


# Built once; the values come with each execution.
_WITH_PRODUCT = (
    core_select(PRODUCTS, reserved_now(bindparam("b_now")).label("reserved"), CART.c.quantity)
    .outerjoin(CART, (CART.c.product_id == PRODUCTS.c.id) & (CART.c.user_id == bindparam("b_user")))
    # The product, and those in the cart, as one IN of a UNION: `id = :product OR id IN (cart)`
    # can't use the primary key on PostgreSQL, which then reads the whole catalogue every time.
    .where(PRODUCTS.c.id.in_(core_select(CART.c.product_id).where(CART.c.user_id == bindparam("b_user"))
                             .union(core_select(bindparam("b_product", type_=Integer)))))
    .order_by(CART.c.id))


def _upsert(dialect):
    insert = dialect.insert(CART)
    return insert.on_conflict_do_update(index_elements=["user_id", "product_id"],
                                        set_={"quantity": insert.excluded.quantity,
                                              "updated_at": insert.excluded.updated_at})


_UPSERT_SQLITE, _UPSERT_POSTGRESQL = _upsert(sqlite), _upsert(postgresql)
# PostgreSQL's checkout: the cart's products locked, then what live reservations hold of them
# (`= ANY` of one array: an IN of a list is rendered again at every execution, and such a
# statement can't be sent straight to asyncpg, db/direct_statements.py).
_LOCK_CART = (core_select(PRODUCTS, CART.c.quantity).join(CART, CART.c.product_id == PRODUCTS.c.id)
              .where(CART.c.user_id == bindparam("b_user")).order_by(PRODUCTS.c.id)
              .with_for_update(of=PRODUCTS, key_share=True))
_HELD_POSTGRESQL = (core_select(RESERVATIONS.c.product_id, func.sum(RESERVATIONS.c.quantity))
                    .where(RESERVATIONS.c.product_id == any_(bindparam("b_products", type_=postgresql.ARRAY(Integer))),
                           LIVE,
                           RESERVATIONS.c.expires_at > bindparam("b_now", type_=DateTime(timezone=True)))
                    .group_by(RESERVATIONS.c.product_id))
_CLEAR = delete(CART).where(CART.c.user_id == bindparam("b_user"))


class SqlProducts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: int) -> Product | None:
        found = (await self.session.exec(products_with_reserved(utcnow()).where(ProductRow.id == product_id))).first()
        return product_from_row(*found) if found else None


class SqlCarts:
    def __init__(self, session: AsyncSession, is_sqlite: bool = False, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)

    async def get(self, user_id: int, *, lock_products: bool = False, now: datetime | None = None) -> Cart:
        """The cart; with `lock_products`, its products are locked for the rest of the transaction
        (PostgreSQL: FOR NO KEY UPDATE, in ascending id, db/uow.py "Lock order"; SQLite's write
        transaction already excludes every other writer) and their availability is read once the
        locks are held: a statement that waited for a lock sees the locked row's newest version
        but the reservations as they were when it began, so it can't count them itself. `now`:
        the moment whose live reservations count (the present by default)."""
        now = now or utcnow()
        if lock_products and not self.is_sqlite:
            rows = (await self.session.exec(_LOCK_CART, params={"b_user": user_id})).all()  # type: ignore[call-overload]
            if not rows:
                return Cart(user_id, ())
            held = dict((await self.session.exec(_HELD_POSTGRESQL, params={  # type: ignore[call-overload]
                "b_products": [row.id for row in rows], "b_now": now})).all())
            return Cart(user_id, tuple(CartLine(product_from_row(row, held.get(row.id, 0)), row.quantity)
                                       for row in rows))
        rows = (await self.session.exec(  # type: ignore[call-overload]
            core_select(PRODUCTS, reserved_now(now).label("reserved"), CART.c.quantity)
            .join(CART, CART.c.product_id == PRODUCTS.c.id)
            .where(CART.c.user_id == user_id).order_by(PRODUCTS.c.id if lock_products else CART.c.id))).all()
        return Cart(user_id, tuple(CartLine(product_from_row(row, row.reserved), row.quantity) for row in rows))

    async def with_product(self, user_id: int, product_id: int) -> tuple[Cart, Product | None]:
        """The cart, and the product (in it or not), in one statement."""
        rows = (await self.session.exec(_WITH_PRODUCT, params={  # type: ignore[call-overload]
            "b_user": user_id, "b_product": product_id, "b_now": utcnow()})).all()
        lines, product = [], None
        for row in rows:
            found = product_from_row(row, row.reserved)
            if row.quantity is not None:
                lines.append(CartLine(found, row.quantity))
            if row.id == product_id:
                product = found
        return Cart(user_id, tuple(lines)), product

    async def clear(self, user_id: int) -> None:
        await self.batch.defer(_CLEAR, {"b_user": user_id})

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> None:
        """One statement: the line removed, or inserted or updated by (user, product) (UNIQUE)."""
        if quantity == 0:
            await self.session.exec(delete(CartItemRow).where(CartItemRow.user_id == user_id,
                                                              CartItemRow.product_id == product_id))
            return
        await self.session.exec(_UPSERT_SQLITE if self.is_sqlite else _UPSERT_POSTGRESQL, params={  # type: ignore[call-overload]
            "user_id": user_id, "product_id": product_id, "quantity": quantity, "updated_at": utcnow()})
