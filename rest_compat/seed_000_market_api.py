"""Seed 000's marketplace routes and their OpenAPI operations (rest_compat/seed_000_market.py)."""
from __future__ import annotations

from starlette.routing import Route

from rest_compat import seed_000_market as market
from rest_compat import webhooks_stripe_connect
from rest_compat.errors import Shape
from rest_compat.openapi import JSON, Operation, error_schema, path_param, query_param

BASE = "/api/payments"
TAG = "seed 000 (/api/payments/) marketplace"
ERROR = error_schema(Shape.ERROR.value)
OBJECT: JSON = {"type": "object"}
UNAUTHENTICATED = ("No valid bearer token", ERROR)
FORBIDDEN = ("Not a seller (or not an admin, for the admin views)", ERROR)
UNAVAILABLE = ("Neither Stripe nor the dummy gateway is configured for Connect", ERROR)
CONFLICT = ("Not possible now (not delivered, on hold, no connected account, no balance)", ERROR)
PAGE = (query_param("page_size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        query_param("offset", {"type": "integer", "minimum": 0, "default": 0}))
FILTERS = (query_param("status", {"type": "string"}), query_param("seller_id", {"type": "integer"}),
           query_param("from_date", {"type": "string", "format": "date"}),
           query_param("to_date", {"type": "string", "format": "date", "description": "inclusive"}),
           query_param("search", {"type": "string", "maxLength": 100}))
PAYOUT_ID = path_param("payout_id", {"type": "string", "format": "uuid"})
ORDER_ID = path_param("order_id", {"type": "string", "format": "uuid"})
ACCOUNT_BODY: JSON = {"type": "object", "properties": {
    "country": {"type": "string", "minLength": 2, "maxLength": 2},
    "business_type": {"enum": ["individual", "company"]}}}
TRANSFER_BODY: JSON = {"type": "object", "required": ["transaction_id"], "properties": {
    "transaction_id": {"type": "string", "format": "uuid"}, "transfer_group": {"type": "string", "maxLength": 120}}}
PAYOUT_BODY: JSON = {"type": "object", "properties": {
    "amount": {"type": "integer", "minimum": 1, "description": "admins only: cents"},
    "currency": {"type": "string"}, "description": {"type": "string", "maxLength": 200},
    "seller_id": {"type": "integer", "description": "admins only: whose balance"}}}
SESSION_BODY: JSON = {"type": "object", "properties": {
    "return_url": {"type": "string", "format": "uri", "description": "where a hosted onboarding page returns"}}}
DELIVER_BODY: JSON = {"type": "object", "properties": {
    "seller_id": {"type": "integer", "description": "staff only: one seller's lines"}}}


def operations() -> list[Operation]:
    common = {401: UNAUTHENTICATED, 403: FORBIDDEN}
    return [
        Operation("get", f"{BASE}/stripe/account/", "The seller's connected account, or eligibility", TAG,
                  {200: ("has_account, status, eligibility", OBJECT), 401: UNAUTHENTICATED}),
        Operation("post", f"{BASE}/stripe/account/", "Create the seller's connected account", TAG,
                  {201: ("Created", OBJECT), 200: ("It existed", OBJECT), 400: ("Bad country or type", ERROR),
                   **common, 503: UNAVAILABLE}, request=ACCOUNT_BODY),
        Operation("post", f"{BASE}/stripe/create-session/", "An onboarding session", TAG,
                  {200: ("client_secret, account_id", OBJECT), 404: ("No connected account yet", ERROR),
                   **common, 503: UNAVAILABLE}, request=SESSION_BODY),
        Operation("get", f"{BASE}/stripe/account-status/", "The account's status flags", TAG,
                  {200: ("charges_enabled, payouts_enabled, requirements", OBJECT),
                   404: ("No connected account yet", ERROR), **common, 503: UNAVAILABLE}),
        Operation("get", f"{BASE}/stripe/holds/", "Funds on hold, with release ETA", TAG,
                  {200: ("summary and holds", OBJECT), 400: ("Bad page", ERROR), **common}, parameters=PAGE),
        Operation("post", f"{BASE}/transfer/", "Transfer a delivered payment's share to the seller", TAG,
                  {200: ("The transfers", OBJECT), 400: ("Bad transaction_id", ERROR), **common,
                   404: ("No such transaction of the caller's", ERROR), 409: CONFLICT, 503: UNAVAILABLE},
                  request=TRANSFER_BODY),
        Operation("post", f"{BASE}/payout/", "Pay the connected balance out", TAG,
                  {201: ("The payout", OBJECT), 400: ("Bad amount or currency", ERROR), **common,
                   404: ("No such seller account", ERROR), 409: CONFLICT, 503: UNAVAILABLE}, request=PAYOUT_BODY),
        Operation("get", f"{BASE}/payouts/", "The seller's payouts", TAG,
                  {200: ("payouts and pagination", OBJECT), 400: ("Bad page", ERROR), **common}, parameters=PAGE),
        Operation("get", f"{BASE}/payouts/{{payout_id}}/", "A payout with its transfers", TAG,
                  {200: ("payout", OBJECT), 404: ("No such payout of the caller's", ERROR), **common},
                  parameters=(PAYOUT_ID,)),
        Operation("get", f"{BASE}/payouts/{{payout_id}}/orders/", "The orders a payout paid out", TAG,
                  {200: ("orders", OBJECT), 404: ("No such payout of the caller's", ERROR), **common},
                  parameters=(PAYOUT_ID,)),
        Operation("get", f"{BASE}/admin/payouts/", "Every payout, filtered, with totals", TAG,
                  {200: ("payouts, pagination, totals", OBJECT), 400: ("Bad filter", ERROR), **common},
                  parameters=PAGE + FILTERS),
        Operation("get", f"{BASE}/admin/transactions/", "Every payment, filtered, with summary stats", TAG,
                  {200: ("transactions, pagination, summary", OBJECT), 400: ("Bad filter", ERROR), **common},
                  parameters=PAGE + FILTERS + (query_param("buyer_id", {"type": "integer"}),)),
        Operation("post", f"{BASE}/orders/{{order_id}}/deliver/", "Mark the order (a seller: their lines) delivered",
                  TAG, {200: ("Delivered; the holds' release dates", OBJECT), **common,
                        404: ("No such order the caller may act on", ERROR), 409: ("Not paid", ERROR)},
                  request=DELIVER_BODY, parameters=(ORDER_ID,)),
        webhooks_stripe_connect.operation(f"{BASE}/stripe_webhook/connect/", TAG),
    ]


def routes() -> list[Route]:
    return [
        Route(f"{BASE}/stripe/account/", market.account_get, methods=["GET"]),
        Route(f"{BASE}/stripe/account/", market.account_create, methods=["POST"]),
        Route(f"{BASE}/stripe/create-session/", market.create_session, methods=["POST"]),
        Route(f"{BASE}/stripe/account-status/", market.account_status, methods=["GET"]),
        Route(f"{BASE}/stripe/holds/", market.holds_list, methods=["GET"]),
        Route(f"{BASE}/transfer/", market.transfer, methods=["POST"]),
        Route(f"{BASE}/payout/", market.payout_create, methods=["POST"]),
        Route(f"{BASE}/payouts/", market.payouts_list, methods=["GET"]),
        Route(f"{BASE}/payouts/{{payout_id}}/", market.payout_detail, methods=["GET"]),
        Route(f"{BASE}/payouts/{{payout_id}}/orders/", market.payout_orders, methods=["GET"]),
        Route(f"{BASE}/admin/payouts/", market.admin_payouts, methods=["GET"]),
        Route(f"{BASE}/admin/transactions/", market.admin_transactions, methods=["GET"]),
        Route(f"{BASE}/orders/{{order_id}}/deliver/", market.deliver, methods=["POST"]),
        Route(f"{BASE}/stripe_webhook/connect/", webhooks_stripe_connect.handle, methods=["POST"]),
    ]
