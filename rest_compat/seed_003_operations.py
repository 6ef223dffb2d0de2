"""Seed 003's operations for /openapi.json: every route of rest_compat/seed_003.py with its
parameters, bodies and answers, FastAPI's error shapes included."""
from __future__ import annotations

from rest_compat import seed_003_shapes as shapes
from rest_compat.openapi import JSON, Operation, path_param, query_param

TAG = "seed 003: /payments/"


def _answers(ok: dict[int, tuple[str, JSON | None]], *, admin: bool = False, found: bool = False,
             invalid: bool = True, refused: str | None = None) -> dict[int, tuple[str, JSON | None]]:
    answers = dict(ok)
    answers[401] = ("Not authenticated, or the token could not be validated", shapes.DETAIL_SCHEMA)
    if admin:
        answers[403] = ("Not enough permissions (staff and admins only)", shapes.DETAIL_SCHEMA)
    if found:
        answers[404] = ("no such object, or someone else's", shapes.DETAIL_SCHEMA)
    if invalid:
        answers[422] = ("Validation error (FastAPI's shape)", shapes.VALIDATION_SCHEMA)
    if refused:
        answers[400] = (refused, shapes.DETAIL_SCHEMA)
    return answers


def operations(base: str, webhook_providers: list[str]) -> list[Operation]:
    payment_id = path_param("payment_id", {"type": "integer"}, "the payment's integer id")
    refund_body = shapes.REFUND_REQUEST
    replay = {409: ("the same Idempotency-Key is still being answered", shapes.DETAIL_SCHEMA)}
    return [
        Operation("post", f"{base}/process", "Process payment for order", TAG,
                  _answers({200: ("paid (or authorized)", shapes.PAYMENT_SCHEMA),
                            202: ("waiting for the customer or the provider: see next_action", shapes.PAYMENT_SCHEMA),
                            402: ("declined", shapes.DETAIL_SCHEMA), **replay,
                            503: ("paypal, razorpay, flutterwave: the provider did not answer the opening",
                                  shapes.DETAIL_SCHEMA)},
                           found=True, refused="method not available, amount not the order's total, a checkout "
                                               "answer that doesn't verify, "
                                               "or the order can't be paid now"),
                  request=shapes.PROCESS_REQUEST,
                  parameters=(query_param("order_id", {"type": "integer"}, "the order to pay (or in the body)"),)),
        Operation("get", f"{base}/methods", "Get available payment methods", TAG,
                  _answers({200: ("the methods offered, with their frontend configuration", shapes.METHODS_SCHEMA)},
                           invalid=False)),
        Operation("get", f"{base}/order/{{order_id}}", "Get payments for specific order", TAG,
                  _answers({200: ("the order's payments with their attempts", shapes.ORDER_HISTORY_SCHEMA)},
                           found=True),
                  parameters=(path_param("order_id", {"type": "integer"}, "the order's integer id"),)),
        Operation("get", f"{base}/{{payment_id}}", "Get specific payment details", TAG,
                  _answers({200: ("the payment", shapes.PAYMENT_SCHEMA)}, found=True), parameters=(payment_id,)),
        Operation("post", f"{base}/{{payment_id}}/refund", "Request payment refund", TAG,
                  _answers({201: ("the refund request, pending an administrator", shapes.REFUND_REQUEST_SCHEMA),
                            403: ("only customers ask for refunds", shapes.DETAIL_SCHEMA), **replay},
                           found=True, refused="nothing left to refund, more than is left, or too late"),
                  request=refund_body, parameters=(payment_id,)),
        Operation("get", f"{base}/admin/all", "View all payments with filters (admin only)", TAG,
                  _answers({200: ("a page of payments, newest first", shapes.ADMIN_LIST_SCHEMA)}, admin=True),
                  parameters=(query_param("status", {"type": "string", "enum": [
                      "requires_payment_method", "requires_action", "processing", "requires_capture",
                      "succeeded", "canceled", "failed"]}),
                              query_param("skip", {"type": "integer", "minimum": 0, "default": 0}),
                              query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100,
                                                    "default": 20}))),
        Operation("post", f"{base}/admin/{{payment_id}}/refund", "Process refund (admin only)", TAG,
                  _answers({200: ("refunded", shapes.REFUND_SCHEMA),
                            202: ("the provider hasn't answered yet", shapes.REFUND_SCHEMA), **replay},
                           admin=True, found=True,
                           refused="more than is left, not refundable, or refused by the provider"),
                  request=refund_body, parameters=(payment_id,)),
        Operation("get", f"{base}/admin/statistics", "Get payment analytics (admin only)", TAG,
                  _answers({200: ("per currency, never mixed", shapes.STATISTICS_SCHEMA)}, admin=True),
                  parameters=(query_param("date_from", {"type": "string", "format": "date"}, "inclusive"),
                              query_param("date_to", {"type": "string", "format": "date"}, "inclusive"),
                              query_param("currency", {"type": "string", "pattern": "^[A-Za-z]{3}$"}),
                              query_param("bucket", {"type": "string", "enum": ["day", "week", "month"],
                                                     "default": "day"}))),
        Operation("post", f"{base}/webhooks/{{provider}}", "Handle payment provider webhooks", TAG,
                  {200: ("acknowledged", {"type": "object"}),
                   400: ("bad signature or body", shapes.DETAIL_SCHEMA),
                   404: ("unknown provider", shapes.DETAIL_SCHEMA),
                   422: ("the body is not JSON paygate reads", shapes.VALIDATION_SCHEMA)},
                  request={"type": "object"}, secured=False,
                  parameters=(path_param("provider", {"type": "string", "enum": webhook_providers}),)),
    ]
