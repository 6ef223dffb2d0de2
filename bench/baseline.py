"""The baselines: what a bare Starlette app under the same uvicorn does on this machine.

    /bare       a constant JSON body (the exact bytes paygate answers to the small query);
    /me         the same work as paygate's `me`: verify the same HS256 bearer token with PyJWT
                (every time: no cache), read the user by primary key with asyncpg, answer the
                same bytes paygate answers;
    /payments   the page of `bench.queries.PAYMENTS_PAGE`, byte-for-byte the same JSON as paygate's
                answer, from ONE hand-written asyncpg query and plain dicts: no ORM, no GraphQL.

Served by `python -m uvicorn bench.baseline:create_app --factory` in its own process, with the
database in BENCH_PG_DSN, the constant body in BENCH_BARE_BODY and paygate's secret in
BENCH_SECRET_KEY. The routes take GET or POST and ignore the request body, so the load generator
sends them the same bytes it sends paygate (and the same Authorization header).
"""
from __future__ import annotations

import base64
import contextlib
import json
import os

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.money import CURRENCIES  # a lookup table (exponent, symbol), not paygate's Money type

POOL_SIZE = 10  # what paygate's engine keeps (db/engine.py)

# Newest first, one row per payment, its order's lines and its refunds aggregated as arrays of
# records (decoded by asyncpg, so timestamps stay datetimes), plus the total count.
PAGE_SQL = """
SELECT p.id, p.number, p.status, p.provider, p.currency, p.amount_minor, p.captured_minor, p.refunded_minor,
       p.card_brand, p.card_last4, p.created_at,
       u.id AS buyer_id, u.email AS buyer_email, u.name AS buyer_name,
       o.id AS order_id, o.number AS order_number, o.status AS order_status, o.currency AS order_currency,
       o.total_minor AS order_total,
       (SELECT array_agg((l.sku, l.name, l.quantity, l.unit_price_minor, l.currency) ORDER BY l.id)
          FROM order_lines l WHERE l.order_id = o.id) AS lines,
       (SELECT array_agg((a.id, a.number, a.status, a.created_at, a.amount_minor, a.currency) ORDER BY a.seq)
          FROM payment_attempts a WHERE a.payment_id = p.id AND a.kind = 'refund') AS refunds,
       (SELECT count(*) FROM payments) AS total
  FROM payments p
  JOIN orders o ON o.id = p.order_id
  JOIN users u ON u.id = p.buyer_id
 ORDER BY p.id DESC
 LIMIT $1
"""


def money(minor: int, code: str) -> dict:
    cur = CURRENCIES[code]
    whole, frac = divmod(abs(minor), 10 ** cur.exponent)
    sign = "-" if minor < 0 else ""
    tail = f".{frac:0{cur.exponent}d}" if cur.exponent else ""
    return {"amount": minor, "currency": code, "decimal": f"{sign}{whole}{tail}",
            "formatted": f"{sign}{cur.symbol}{whole:,}{tail}"}


def gid(type_name: str, legacy_id: int) -> str:
    return base64.b64encode(f"{type_name}:{legacy_id}".encode()).decode()


def display_status(status: str, captured: int, refunded: int) -> str:
    if refunded == 0:
        return status.upper()
    return "REFUNDED" if refunded == captured else "PARTIALLY_REFUNDED"


def payment_node(r) -> dict:
    return {
        "id": gid("Payment", r["id"]), "legacyId": r["id"], "number": r["number"],
        "status": r["status"].upper(),
        "displayStatus": display_status(r["status"], r["captured_minor"], r["refunded_minor"]),
        "provider": r["provider"], "createdAt": r["created_at"].isoformat(),
        "amount": money(r["amount_minor"], r["currency"]),
        "amountRefunded": money(r["refunded_minor"], r["currency"]),
        "card": {"brand": r["card_brand"], "last4": r["card_last4"]} if r["card_brand"] else None,
        "buyer": {"id": gid("User", r["buyer_id"]), "email": r["buyer_email"], "name": r["buyer_name"]},
        "order": {
            "id": gid("Order", r["order_id"]), "number": r["order_number"],
            "status": r["order_status"].upper(),
            "total": money(r["order_total"], r["order_currency"]),
            "lines": [{"sku": sku, "name": name, "quantity": qty, "unitPrice": money(unit, cur),
                       "total": money(unit * qty, cur)} for sku, name, qty, unit, cur in r["lines"] or ()],
        },
        "refunds": [{"id": gid("Refund", rid), "number": number, "status": status.upper(),
                     "createdAt": created.isoformat(), "amount": money(amount, cur)}
                    for rid, number, status, created, amount, cur in r["refunds"] or ()],
    }


def page_json(rows: list, first: int) -> dict:
    page = rows[:first]
    edges = [{"cursor": base64.b64encode(f"cursor:{r['id']}".encode()).decode(), "node": payment_node(r)}
             for r in page]
    return {"data": {"payments": {
        "totalCount": rows[0]["total"] if rows else 0,
        "pageInfo": {"hasNextPage": len(rows) > first, "endCursor": edges[-1]["cursor"] if edges else None},
        "edges": edges,
    }}}


ME_SQL = "SELECT id, email, name, roles FROM users WHERE id = $1"


def me_json(row) -> dict:
    """paygate's `me { id email name roles }`: roles sorted, as gql/schema/users.py lists them."""
    return {"data": {"me": {"id": gid("User", row["id"]), "email": row["email"], "name": row["name"],
                            "roles": sorted(row["roles"].split())}}}


async def _no_reset(_conn) -> None:
    """asyncpg resets a connection on release with one more round trip (RESET ALL, UNLISTEN…);
    paygate's read sessions (autocommit, db/engine.py) send nothing on release, so neither does
    the same-work route."""


def create_app() -> Starlette:
    dsn = os.environ["BENCH_PG_DSN"]
    bare_body = os.environ.get("BENCH_BARE_BODY", '{"data":{"ok":true}}').encode()
    first = int(os.environ.get("BENCH_PAGE_SIZE", "100"))
    secret = os.environ.get("BENCH_SECRET_KEY", "")
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        state["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=POOL_SIZE, reset=_no_reset)
        yield
        await state["pool"].close()

    async def bare(_: Request) -> Response:
        return Response(bare_body, media_type="application/json")

    async def me(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise jwt.InvalidTokenError("not a bearer token")
            # What paygate's TokenCodec checks: HS256 with its secret, `sub` and `exp` required.
            claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return Response(b'{"errors":[{"message":"unauthenticated"}]}', 401, media_type="application/json")
        async with state["pool"].acquire() as conn:
            row = await conn.fetchrow(ME_SQL, int(claims["sub"]))
        body = {"data": {"me": None}} if row is None else me_json(row)
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    async def payments(_: Request) -> Response:
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(PAGE_SQL, first + 1)
        body = json.dumps(page_json(rows, first), separators=(",", ":"))  # as Strawberry encodes
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/bare", bare, methods=["GET", "POST"]),
                             Route("/me", me, methods=["GET", "POST"]),
                             Route("/payments", payments, methods=["GET", "POST"])], lifespan=lifespan)
