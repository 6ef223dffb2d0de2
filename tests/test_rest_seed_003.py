"""Seed 003 (/payments/) over real HTTP, on SQLite and PostgreSQL, as a client written from the
seed's document would use it: pay, list, ask for and get refunds; an admin lists, refunds and
reads statistics. Then FastAPI's error conventions, each refusal checked to write nothing.
"""
from __future__ import annotations

import asyncio

import httpx
import jsonschema
from sqlmodel import select

from db.email_tables import EmailOutboxRow
from db.payment_tables import PaymentAttemptRow, PaymentRow, RefundRequestRow
from tests.payments_fixtures import order_for

BASE = "/payments"
CUSTOMER, CUSTOMER2, STAFF, ADMIN = ("customer@example.com", "customer2@example.com", "staff@example.com",
                                     "admin@example.com")
VISA = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
DECLINING = {**VISA, "card_number": "4000 0000 0000 0002"}


def auth(shop, email: str = CUSTOMER) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.token(email)}"}


async def documented(client: httpx.AsyncClient, method: str, path: str, response: httpx.Response) -> None:
    """The answer conforms to what /openapi.json declares for this operation and status."""
    spec = (await client.get("/openapi.json")).json()
    declared = spec["paths"][path][method]["responses"][str(response.status_code)]
    jsonschema.validate(response.json(), declared["content"]["application/json"]["schema"])


async def pay(client, shop, order_id: int, details: dict = VISA, email: str = CUSTOMER,
              method: str = "card") -> httpx.Response:
    return await client.post(f"{BASE}/process", params={"order_id": order_id},
                             json={"payment_method": method, "payment_details": details}, headers=auth(shop, email))


async def paid(client, db, shop, items: dict[str, int] | None = None, email: str = CUSTOMER) -> dict:
    order = await order_for(db, shop, items or {"SAM-MUG-01": 2}, email)
    response = await pay(client, shop, order.id, email=email)
    assert response.status_code == 200, response.text
    return response.json()


async def snapshot(db) -> dict[str, list]:
    async with db.read_sessions() as session:
        return {
            "payments": [(p.id, p.status, p.refunded_minor) for p in (await session.exec(select(PaymentRow))).all()],
            "attempts": [(a.id, a.status) for a in (await session.exec(select(PaymentAttemptRow))).all()],
            "requests": [r.id for r in (await session.exec(select(RefundRequestRow))).all()],
            "emails": [e.id for e in (await session.exec(select(EmailOutboxRow))).all()],
        }


# --- the customer's path -------------------------------------------------------------------------

async def test_a_customer_pays_an_order_and_sees_it_paid_with_its_reference(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    response = await pay(client, shop, order.id)

    assert response.status_code == 200, response.text
    payment = response.json()
    assert payment["reference"].startswith("TXN-")
    assert (payment["order_id"], payment["status"], payment["amount"], payment["currency"],
            payment["amount_captured"], payment["payment_method"], payment["provider"]) == (
        order.id, "succeeded", "29.98", "USD", "29.98", "card", "dummy")
    assert payment["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
    await documented(client, "post", f"{BASE}/process", response)
    history = await client.get(f"{BASE}/order/{order.id}", headers=auth(shop))
    assert history.json()["order_status"] == "paid"


async def test_a_decline_answers_402_and_the_order_history_keeps_every_attempt(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    declined = await pay(client, shop, order.id, DECLINING)
    accepted = await pay(client, shop, order.id)

    assert declined.status_code == 402
    assert "card_declined" in declined.json()["detail"]
    assert accepted.status_code == 200
    history = await client.get(f"{BASE}/order/{order.id}", headers=auth(shop))
    assert history.status_code == 200
    body = history.json()
    assert [(p["status"], [(a["kind"], a["status"], a["failure_code"]) for a in p["attempts"]])
            for p in body["payments"]] == [
        ("failed", [("authorize", "failed", "card_declined")]),
        ("succeeded", [("authorize", "succeeded", None)])]
    await documented(client, "get", f"{BASE}/order/{{order_id}}", history)


async def test_payment_detail_is_the_buyers_and_staffs_and_nobody_elses(client, db, shop):
    payment = await paid(client, db, shop)

    mine = await client.get(f"{BASE}/{payment['id']}", headers=auth(shop))
    staffs = await client.get(f"{BASE}/{payment['id']}", headers=auth(shop, STAFF))
    others = await client.get(f"{BASE}/{payment['id']}", headers=auth(shop, CUSTOMER2))
    nobodys = await client.get(f"{BASE}/{2**31 - 1}", headers=auth(shop))

    assert mine.status_code == staffs.status_code == 200
    assert mine.json() == {**payment, "next_action": None}
    assert others.status_code == nobodys.status_code == 404
    assert others.json() == nobodys.json() == {"detail": "Payment not found"}
    await documented(client, "get", f"{BASE}/{{payment_id}}", mine)


async def test_methods_offer_the_card_with_its_frontend_configuration_and_no_secret(client, shop):
    response = await client.get(f"{BASE}/methods", headers=auth(shop))

    assert response.status_code == 200
    [card] = response.json()["methods"]
    assert (card["method"], card["provider"], card["type"], card["redirect"], card["currencies"]) == (
        "card", "dummy", "card", False, ["USD"])
    assert {"authorize", "refund"} <= set(card["capabilities"])
    assert "secret" not in response.text.lower()
    await documented(client, "get", f"{BASE}/methods", response)


async def test_a_refund_request_is_pending_for_admins_who_then_refund_through_the_provider(client, db, shop):
    payment = await paid(client, db, shop)

    asked = await client.post(f"{BASE}/{payment['id']}/refund", json={"amount": "10.00", "reason": "dented"},
                              headers=auth(shop))
    listed = await client.get(f"{BASE}/admin/all", params={"status": "succeeded"}, headers=auth(shop, ADMIN))
    refunded = await client.post(f"{BASE}/admin/{payment['id']}/refund", json={"amount": 10, "reason": "dented"},
                                 headers=auth(shop, ADMIN))

    assert asked.status_code == 201, asked.text
    assert {k: asked.json()[k] for k in ("status", "amount", "currency", "reason")} == {
        "status": "pending", "amount": "10.00", "currency": "USD", "reason": "dented"}
    assert "business days" in asked.json()["timeline"]
    await documented(client, "post", f"{BASE}/{{payment_id}}/refund", asked)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["id"], item["user"]["email"], item["order"]["status"]) == (payment["id"], CUSTOMER, "paid")
    await documented(client, "get", f"{BASE}/admin/all", listed)
    assert refunded.status_code == 200, refunded.text
    assert {k: refunded.json()[k] for k in ("status", "amount", "payment_status", "order_status")} == {
        "status": "succeeded", "amount": "10.00", "payment_status": "partially_refunded",
        "order_status": "partially_refunded"}
    await documented(client, "post", f"{BASE}/admin/{{payment_id}}/refund", refunded)
    # The admin's refund was the customer's request, approved: nothing is left pending to refund twice.
    assert refunded.json()["request_id"] == asked.json()["request_id"]
    async with db.read_sessions() as session:
        assert [r.status for r in (await session.exec(select(RefundRequestRow))).all()] == ["approved"]


async def test_a_refund_request_past_the_window_after_capture_is_refused(client, db, shop, served):
    payment = await paid(client, db, shop)
    async with db.write_sessions() as session, session.begin():
        for attempt in (await session.exec(select(PaymentAttemptRow))).all():
            attempt.updated_at = attempt.updated_at.replace(year=attempt.updated_at.year - 1)
            session.add(attempt)
    before = await snapshot(db)

    response = await client.post(f"{BASE}/{payment['id']}/refund", json={"reason": "late"}, headers=auth(shop))

    assert response.status_code == 400
    assert "too late" in response.json()["detail"]
    assert await snapshot(db) == before


async def test_admin_listing_pages_and_filters(client, db, shop):
    first, second = await paid(client, db, shop), await paid(client, db, shop)
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await pay(client, shop, order.id, DECLINING)

    page = await client.get(f"{BASE}/admin/all", params={"limit": 1, "skip": 1, "status": "succeeded"},
                            headers=auth(shop, STAFF))
    failed = await client.get(f"{BASE}/admin/all", params={"status": "failed"}, headers=auth(shop, STAFF))

    assert (page.json()["total"], [i["id"] for i in page.json()["items"]]) == (2, [first["id"]])
    assert second["id"] > first["id"]
    assert [i["status"] for i in failed.json()["items"]] == ["failed"]


# --- FastAPI's conventions -----------------------------------------------------------------------

async def test_invalid_input_answers_422_in_fastapis_shape_and_writes_nothing(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    before = await snapshot(db)

    cases = [
        (await client.post(f"{BASE}/process", json={"payment_method": "card", "payment_details": VISA},
                           headers=auth(shop)), ["query", "order_id"], "missing"),
        (await client.post(f"{BASE}/process", params={"order_id": "seven"},
                           json={"payment_method": "card", "payment_details": VISA}, headers=auth(shop)),
         ["query", "order_id"], "int_parsing"),
        (await client.post(f"{BASE}/process", params={"order_id": order.id}, json={"payment_details": VISA},
                           headers=auth(shop)), ["body", "payment_method"], "missing"),
        (await client.post(f"{BASE}/process", params={"order_id": order.id},
                           json={"payment_method": "card", "payment_details": {**VISA, "exp_month": "May"}},
                           headers=auth(shop)), ["body", "payment_details", "exp_month"], "int_parsing"),
        (await client.post(f"{BASE}/process", params={"order_id": order.id}, content=b"{not json",
                           headers={**auth(shop), "Content-Type": "application/json"}), ["body"], "json_invalid"),
        (await client.get(f"{BASE}/abc", headers=auth(shop)), ["path", "payment_id"], "int_parsing"),
        (await client.post(f"{BASE}/1/refund", json={"amount": "1.2.3", "reason": "x"}, headers=auth(shop)),
         ["body", "amount"], "decimal_parsing"),
        (await client.post(f"{BASE}/1/refund", json={"amount": "1.00"}, headers=auth(shop)),
         ["body", "reason"], "missing"),
        (await client.get(f"{BASE}/admin/all", params={"limit": 101}, headers=auth(shop, ADMIN)),
         ["query", "limit"], "less_than_equal"),
        (await client.get(f"{BASE}/admin/all", params={"status": "lost"}, headers=auth(shop, ADMIN)),
         ["query", "status"], "enum"),
        (await client.get(f"{BASE}/admin/statistics", params={"bucket": "year"}, headers=auth(shop, ADMIN)),
         ["query", "bucket"], "enum"),
    ]

    for response, loc, kind in cases:
        assert response.status_code == 422, (loc, response.text)
        [problem] = response.json()["detail"]
        assert (problem["loc"], problem["type"]) == (loc, kind), response.text
        assert isinstance(problem["msg"], str) and problem["msg"]
    assert "4242" not in "".join(r.text for r, _, _ in cases)  # no input is echoed
    assert await snapshot(db) == before


async def test_authentication_and_permissions_answer_as_fastapi_does(client, shop):
    anonymous = await client.get(f"{BASE}/methods")
    forged = await client.get(f"{BASE}/methods", headers={"Authorization": "Bearer not-a-token"})
    customer_as_admin = await client.get(f"{BASE}/admin/statistics", headers=auth(shop))
    no_route = await client.get(f"{BASE}/order/1/items", headers=auth(shop))
    wrong_method = await client.delete(f"{BASE}/methods", headers=auth(shop))

    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "Not authenticated"})
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert (forged.status_code, forged.json()) == (401, {"detail": "Could not validate credentials"})
    assert (customer_as_admin.status_code, customer_as_admin.json()) == (403, {"detail": "Not enough permissions"})
    assert (no_route.status_code, no_route.json()) == (404, {"detail": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})


async def test_an_amount_other_than_the_orders_total_is_refused_before_anything_is_written(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    before = await snapshot(db)

    response = await client.post(f"{BASE}/process", params={"order_id": order.id}, headers=auth(shop),
                                 json={"payment_method": "card", "payment_details": VISA, "amount": "1.00"})

    assert response.status_code == 400
    assert "does not match the order total" in response.json()["detail"]
    assert await snapshot(db) == before


async def test_a_method_not_offered_and_someone_elses_order_are_refused(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    before = await snapshot(db)

    paypal = await pay(client, shop, order.id, {"order_id": "X"}, method="paypal")
    other = await pay(client, shop, order.id, email=CUSTOMER2)

    assert paypal.status_code == 400 and "not available" in paypal.json()["detail"]
    assert (other.status_code, other.json()) == (404, {"detail": "Order not found"})
    assert await snapshot(db) == before


async def test_an_unknown_webhook_provider_is_404(client):
    response = await client.post(f"{BASE}/webhooks/acme", json={"id": "evt_1"})

    assert (response.status_code, response.json()) == (404, {"detail": "Unknown payment provider"})


async def test_concurrent_admin_refunds_never_exceed_what_was_captured_and_mail_each_once(client, db, shop):
    payment = await paid(client, db, shop)  # 29.98 USD

    answers = await asyncio.gather(*[
        client.post(f"{BASE}/admin/{payment['id']}/refund", json={"amount": "10.00", "reason": "dent"},
                    headers=auth(shop, ADMIN)) for _ in range(8)])

    assert sorted(r.status_code for r in answers) == [200, 200] + [400] * 6, [r.text for r in answers]
    detail = (await client.get(f"{BASE}/{payment['id']}", headers=auth(shop))).json()
    assert (detail["amount_refunded"], detail["status"]) == ("20.00", "partially_refunded")
    async with db.read_sessions() as session:
        kinds = [e.kind for e in (await session.exec(select(EmailOutboxRow))).all()]
    assert sorted(kinds) == ["payment_confirmation", "refund_confirmation", "refund_confirmation"]


async def test_an_admin_refund_of_another_amount_leaves_the_customers_request_pending(client, db, shop):
    payment = await paid(client, db, shop)
    await client.post(f"{BASE}/{payment['id']}/refund", json={"amount": "10.00", "reason": "dented"},
                      headers=auth(shop))

    refunded = await client.post(f"{BASE}/admin/{payment['id']}/refund", json={"amount": "3.00", "reason": "goodwill"},
                                 headers=auth(shop, ADMIN))

    assert (refunded.status_code, refunded.json()["request_id"], refunded.json()["amount"]) == (200, None, "3.00")
    async with db.read_sessions() as session:
        assert [r.status for r in (await session.exec(select(RefundRequestRow))).all()] == ["pending"]
