"""Seed 000's marketplace paths (shared/seeds/000_07d15f5ad7ee1a01.txt), under /api/payments/:

    GET  stripe/account/              the seller's connected account, or their eligibility
    POST stripe/account/              create it: 201 when new, 200 when it exists
    POST stripe/create-session/       onboarding: {client_secret, account_id}
    GET  stripe/account-status/       charges_enabled, payouts_enabled, requirements
    GET  stripe/holds/                the seller's (staff: everyone's) holds, with totals and ETA
    POST transfer/                    a delivered payment's seller share to the connected account
    POST payout/                      201: the connected balance to the bank (admins: any amount)
    GET  payouts/, payouts/{id}/, payouts/{id}/orders/
    GET  admin/payouts/, admin/transactions/   admins: filters, pagination, totals
    POST orders/{order_id}/deliver/   (ours) the seller's lines, or staff the whole order, delivered

Sellers' Connect runs on Stripe when it is configured and on the dummy gateway otherwise; with
neither, these paths answer 503. A buyer is refused 403; another seller's payout is 404.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse

from db import market_queries as queries
from domain.errors import NotFoundError, ValidationError
from domain.identity import Role
from domain.marketplace import accounts, holds, payouts, transfers
from domain.marketplace.access import MarketFilter, Page, admins_only, seller_scope, visible_payout
from domain.marketplace.connect import ConnectProvider
from domain.marketplace.model import PayoutRecord
from domain.money import Money
from rest_compat import seed_000_market_shapes as shapes
from rest_compat.http import RestError, caller, database, json_object, services, settings

NOT_CONFIGURED = ("Connect is not available: configure Stripe (PAYGATE_STRIPE_API_KEY) "
                  "or the dummy gateway (PAYGATE_DUMMY_GATEWAY=on).")
PAYOUT_NOT_FOUND = "Payout not found."


def _connect(request: Request) -> ConnectProvider:
    found = services(request).connect
    if found is None:
        raise RestError(503, NOT_CONFIGURED)
    return found


def _now(request: Request) -> datetime:
    return services(request).clock()


async def _body(request: Request) -> dict[str, Any]:
    return await json_object(request) if await request.body() else {}


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RestError(400, f"{name} must be an integer") from None


def _page(request: Request) -> Page:
    q = request.query_params
    return Page(limit=_int(q.get("page_size"), "page_size", 20), offset=_int(q.get("offset"), "offset", 0))


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise RestError(400, f"{name} must be a date like 2026-12-31") from None


def _filter(request: Request) -> MarketFilter:
    q = request.query_params
    start, end = _day(q.get("from_date"), "from_date"), _day(q.get("to_date"), "to_date")
    seller = q.get("seller_id")
    buyer = q.get("buyer_id")
    return MarketFilter(
        status=q.get("status") or None,
        seller_id=_int(seller, "seller_id", 0) if seller else None,
        buyer_id=_int(buyer, "buyer_id", 0) if buyer else None,
        created_from=datetime.combine(start, datetime.min.time(), UTC) if start else None,
        # to_date is inclusive: everything before the next day's start
        created_to=datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) if end else None,
        search=q.get("search") or None)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise RestError(400, f"{name} must be a string")
    return value


# --- connected accounts ---------------------------------------------------------------------------


async def account_get(request: Request) -> JSONResponse:
    actor = caller(request)
    if not actor.has(Role.SELLER):
        return JSONResponse(shapes.account(None, is_seller=False))  # the seed's "eligibility" answer
    return JSONResponse(shapes.account(await accounts.my_account(actor, services(request).uow())))


async def account_create(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await _body(request)
    country = _text(body, "country") or "US"
    business_type = _text(body, "business_type") or "individual"
    connect = _connect(request)
    found, created = await accounts.create_account(accounts.CreateAccount(actor, country.upper(), business_type),
                                                   services(request).uow(), connect, _now(request))
    return JSONResponse({**shapes.account(found), "created": created}, status_code=201 if created else 200)


async def create_session(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await _body(request)
    return_url = _text(body, "return_url")
    session = await accounts.onboarding_session(actor, services(request).uow(), _connect(request),
                                                return_url=return_url)
    return JSONResponse({"client_secret": session.client_secret, "account_id": session.account_ref,
                         "url": session.url})


async def account_status(request: Request) -> JSONResponse:
    actor = caller(request)
    found = await accounts.refresh_status(actor, services(request).uow(), _connect(request), _now(request))
    return JSONResponse(shapes.account_status_flags(found))


# --- holds, delivery, transfers ---------------------------------------------------------------------


async def holds_list(request: Request) -> JSONResponse:
    actor = caller(request)
    scope = seller_scope(actor)
    if scope is None and request.query_params.get("seller_id"):
        scope = _int(request.query_params.get("seller_id"), "seller_id", 0)
    page = _page(request)
    status = request.query_params.get("status") or None
    views, total, by_currency = await queries.holds_of(database(request), scope, page, status)
    upcoming = [v.hold.releases_at for v in views if v.hold.status.value == "held" and v.hold.releases_at]
    return JSONResponse({
        "summary": {"count": total, "totals": shapes.totals(by_currency),
                    "next_release_at": shapes.when(min(upcoming)) if upcoming else None},
        "holds": [shapes.hold(v) for v in views],
        "pagination": shapes.pagination(total, page.limit, page.offset)})


async def deliver(request: Request) -> JSONResponse:
    from rest_compat.seed_000 import _order_id, _order_kept_private  # the seed's own order lookup

    actor = caller(request)
    order_id = await _order_id(request)
    body = await _body(request)
    seller = body.get("seller_id")
    if seller is not None and (type(seller) is not int or seller <= 0):
        raise RestError(400, "seller_id must be a positive integer")
    svc = services(request)
    with _order_kept_private():
        order = await holds.mark_delivered(holds.MarkDelivered(actor, order_id, seller), svc.uow(),
                                           svc.policy.hold_period, _now(request))
        found = await queries.holds_of_order(database(request), order.pk)
    return JSONResponse({"success": True, "order_id": str(order.uuid), "delivered_at": shapes.when(order.delivered_at),
                         "holds": [shapes.hold(v) for v in found]})


async def transfer(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    raw = body.get("transaction_id")
    try:
        payment_uuid = str(UUID(raw)) if isinstance(raw, str) else None
    except ValueError:
        payment_uuid = None
    if payment_uuid is None:
        raise RestError(400, "transaction_id must be a UUID")
    group = _text(body, "transfer_group")
    if group is not None and not (0 < len(group) <= 120):
        raise RestError(400, "transfer_group must be 1..120 characters")
    svc = services(request)
    done = await transfers.transfer_payment(transfers.RequestTransfer(actor, payment_uuid, group), svc.uow(),
                                            _connect(request), svc.policy.hold_period, _now(request))
    return JSONResponse({"success": True, "transaction_id": payment_uuid,
                         "transfers": [shapes.transfer(t) for t in done],
                         "transfer": shapes.transfer(done[0]) if len(done) == 1 else None})


# --- payouts ------------------------------------------------------------------------------------------


async def payout_create(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await _body(request)
    amount_raw, seller_raw = body.get("amount"), body.get("seller_id")
    code = (_text(body, "currency") or settings(request).default_currency).upper()
    if amount_raw is not None and (type(amount_raw) is not int or amount_raw <= 0):
        raise RestError(400, "amount must be a positive integer number of cents")
    if seller_raw is not None and (type(seller_raw) is not int or seller_raw <= 0):
        raise RestError(400, "seller_id must be a positive integer")
    try:
        amount = Money.of(amount_raw, code) if amount_raw is not None else None
        Money.zero(code)
    except ValidationError as exc:
        raise RestError(400, exc.message) from None
    description = _text(body, "description") or ""
    done = await payouts.create_payout(payouts.RequestPayout(actor, code, amount, seller_raw, description),
                                       services(request).uow(), _connect(request), _now(request))
    items = await queries.transfers_of(database(request), done.pk)
    return JSONResponse({"success": True, "payout": shapes.payout_detail(done, items)}, status_code=201)


async def payouts_list(request: Request) -> JSONResponse:
    actor = caller(request)
    scope = seller_scope(actor)
    page = _page(request)
    views, found = await queries.payouts_page(database(request), scope, MarketFilter(), page)
    return JSONResponse({"payouts": [shapes.payout_summary(v.payout, transfer_count=v.transfer_count) for v in views],
                         "pagination": shapes.pagination(found.count, page.limit, page.offset)})


async def _payout(request: Request) -> PayoutRecord:
    """The payout the caller may see; another seller's answers as a missing one."""
    actor = caller(request)
    try:
        payout_uuid = UUID(request.path_params["payout_id"])
    except ValueError:
        raise RestError(404, PAYOUT_NOT_FOUND) from None
    found = await queries.payout_by_uuid(database(request), payout_uuid)
    try:
        return visible_payout(actor, found, payout_uuid)
    except NotFoundError:
        raise RestError(404, PAYOUT_NOT_FOUND) from None


async def payout_detail(request: Request) -> JSONResponse:
    found = await _payout(request)
    items = await queries.transfers_of(database(request), found.pk)
    return JSONResponse({"payout": shapes.payout_detail(found, items)})


async def payout_orders(request: Request) -> JSONResponse:
    found = await _payout(request)
    lines = await queries.payout_order_lines(database(request), found.pk, found.seller_id)
    return JSONResponse(shapes.payout_orders(found, lines))


async def admin_payouts(request: Request) -> JSONResponse:
    admins_only(caller(request))
    page = _page(request)
    views, found = await queries.payouts_page(database(request), None, _filter(request), page)
    return JSONResponse(shapes.admin_payouts(views, found, page.limit, page.offset))


async def admin_transactions(request: Request) -> JSONResponse:
    admins_only(caller(request))
    page = _page(request)
    views, stats = await queries.transactions_page(database(request), _filter(request), page)
    return JSONResponse(shapes.admin_transactions(views, stats, page.limit, page.offset))
