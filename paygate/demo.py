"""The demo shop (CONTRACT.md): six users and priced, stocked products in USD, EUR and JPY.

Loading is idempotent: rows are matched by email and SKU, so a second run adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from db.engine import Database
from db.row_ids import pk
from db.tables import ProductRow, UserRow


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    roles: str


USERS = (
    DemoUser("customer@example.com", "Casey Customer", "customer"),
    DemoUser("customer2@example.com", "Cameron Customer", "customer"),
    DemoUser("seller@example.com", "Sam's Supplies", "seller"),
    DemoUser("seller2@example.com", "Sora Goods", "seller"),
    DemoUser("staff@example.com", "Stevie Staff", "staff"),
    DemoUser("admin@example.com", "Avery Admin", "admin"),
)

# (seller email, sku, name, price in minor units, currency, stock)
PRODUCTS = (
    ("seller@example.com", "SAM-MUG-01", "Enamel camping mug", 1_499, "USD", 40),
    ("seller@example.com", "SAM-KNIFE-01", "Folding pocket knife", 3_999, "USD", 12),
    ("seller@example.com", "SAM-LAMP-01", "Rechargeable lantern", 2_950, "EUR", 25),
    ("seller@example.com", "SAM-TENT-01", "Two-person tent", 18_900, "EUR", 3),
    ("seller2@example.com", "SORA-TEA-01", "Sencha green tea, 100 g", 1_500, "JPY", 60),
    ("seller2@example.com", "SORA-BOWL-01", "Hand-thrown matcha bowl", 6_800, "JPY", 8),
    ("seller2@example.com", "SORA-NOTE-01", "Washi notebook", 1_299, "USD", 100),
    ("seller2@example.com", "SORA-LAST-01", "Last one in stock", 4_200, "USD", 1),
)


async def load_demo(db: Database) -> tuple[dict[str, UserRow], bool]:
    """Create what is missing; return the demo users by email and whether anything was added."""
    added = False
    async with db.write_sessions() as session, session.begin():
        existing = {u.email: u for u in (await session.exec(
            select(UserRow).where(col(UserRow.email).in_([u.email for u in USERS])))).all()}
        for user in USERS:
            if user.email not in existing:
                row = UserRow(email=user.email, name=user.name, roles=user.roles)
                session.add(row)
                existing[user.email] = row
                added = True
        await session.flush()
        skus = set((await session.exec(
            select(ProductRow.sku).where(col(ProductRow.sku).in_([p[1] for p in PRODUCTS])))).all())
        for seller, sku, name, price, currency, stock in PRODUCTS:
            if sku not in skus:
                session.add(ProductRow(seller_id=pk(existing[seller]), sku=sku, name=name, price_minor=price,
                                       currency=currency, stock=stock))
                added = True
    return existing, added
