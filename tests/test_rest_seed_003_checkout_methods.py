"""Seed 003's methods that complete later, at the provider, over real HTTP on SQLite and PostgreSQL:
`POST /payments/process` with "razorpay", "flutterwave" (against tests/fake_razorpay.py and
tests/fake_flutterwave.py) and "paypal" (tests/fake_paypal.py) answers 202 with what the frontend
needs next, and a second `process` carrying the provider checkout's answer completes it; a
tampered answer is refused with nothing recorded, another user's order is a 404, and
`GET /payments/methods` lists them with their public configuration only."""
from __future__ import annotations

from sqlmodel import select

from db.email_tables import EmailOutboxRow
from tests.fake_paypal import CLIENT_ID, CLIENT_SECRET
from tests.fake_razorpay import KEY_ID, KEY_SECRET
from tests.payments_fixtures import assert_ledger_balances, order_for
from tests.regional_fixtures import ledger_kinds, order_row, payment_row
from tests.test_rest_seed_003 import auth, documented

BASE = "/payments"
OTHER = "customer2@example.com"


async def process(http, shop, order_id: int, method: str, details: dict, email: str = "customer@example.com"):
    return await http.post(f"{BASE}/process", params={"order_id": order_id}, headers=auth(shop, email),
                           json={"payment_method": method, "payment_details": details})


async def emails(db) -> list[str]:
    async with db.read_sessions() as session:
        return [e.kind for e in (await session.exec(select(EmailOutboxRow))).all()]


async def opened_at_razorpay(rhttp, db, shop, fakes):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    answer = await process(rhttp, shop, order.pk, "razorpay", {})
    assert answer.status_code == 202, answer.text
    return order, answer


# --- Razorpay ------------------------------------------------------------------------------------

async def test_methods_list_razorpay_and_flutterwave_with_public_configuration_only(rhttp, shop):
    answer = await rhttp.get(f"{BASE}/methods", headers=auth(shop))

    by_method = {m["method"]: m for m in answer.json()["methods"]}
    assert by_method["razorpay"]["config"] == {"key_id": KEY_ID} and by_method["razorpay"]["redirect"] is False
    assert by_method["razorpay"]["requirements"]["then"] == ["razorpay_payment_id", "razorpay_order_id",
                                                             "razorpay_signature"]
    assert by_method["flutterwave"]["redirect"] is True and by_method["flutterwave"]["config"] == {}
    assert by_method["flutterwave"]["type"] == "checkout"
    assert KEY_SECRET not in answer.text and "FLWSECK" not in answer.text
    await documented(rhttp, "get", "/payments/methods", answer)


async def test_an_order_is_paid_through_razorpay_checkout_in_two_process_calls(rhttp, db, shop, fakes):
    order, opened = await opened_at_razorpay(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()

    action = opened.json()["next_action"]
    assert action["type"] == "razorpay_checkout" and action["razorpay_order_id"] == rzp_order["id"]
    assert (action["key_id"], action["amount"], action["currency"]) == (KEY_ID, order.total.minor, order.total.code)
    assert opened.json()["status"] == "requires_action"
    await documented(rhttp, "post", "/payments/process", opened)

    paid = await process(rhttp, shop, order.pk, "razorpay", fakes.razorpay.pay(rzp_order["id"]))

    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount_captured"]) == ("succeeded", order.total.decimal)
    assert paid.json()["reference"] == opened.json()["reference"]
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]
    assert await emails(db) == ["payment_confirmation"]
    await assert_ledger_balances(db)


async def test_opening_again_answers_the_same_razorpay_order(rhttp, db, shop, fakes):
    order, first = await opened_at_razorpay(rhttp, db, shop, fakes)

    again = await process(rhttp, shop, order.pk, "razorpay", {})

    assert again.status_code == 202 and again.json()["next_action"] == first.json()["next_action"]
    assert len(fakes.razorpay.orders) == 1


async def test_a_tampered_razorpay_answer_is_refused_and_nothing_is_recorded(rhttp, db, shop, fakes):
    order, opened = await opened_at_razorpay(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    genuine = fakes.razorpay.pay(rzp_order["id"])
    flipped = genuine["razorpay_signature"][:-1] + ("1" if genuine["razorpay_signature"].endswith("0") else "0")

    answers = [await process(rhttp, shop, order.pk, "razorpay", genuine | change)
               for change in ({"razorpay_signature": flipped}, {"razorpay_payment_id": "pay_someoneelses1"})]
    partial = await process(rhttp, shop, order.pk, "razorpay", {"razorpay_payment_id": genuine["razorpay_payment_id"]})

    assert [a.status_code for a in answers] == [400, 400] and all(set(a.json()) == {"detail"} for a in answers)
    assert partial.status_code == 422 and partial.json()["detail"][0]["loc"] == ["body", "payment_details",
                                                                                "razorpay_order_id"]
    assert (await payment_row(db, opened.json()["reference"])).status == "requires_action"
    assert (await order_row(db, order.pk)).status == "pending_payment"
    assert await ledger_kinds(db) == [] and await emails(db) == []


async def test_another_users_order_answers_404_whether_opening_or_completing(rhttp, db, shop, fakes):
    order, _ = await opened_at_razorpay(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    genuine = fakes.razorpay.pay(rzp_order["id"])

    opening = await process(rhttp, shop, order.pk, "razorpay", {}, email=OTHER)
    completing = await process(rhttp, shop, order.pk, "razorpay", genuine, email=OTHER)

    assert (opening.status_code, opening.json()) == (404, {"detail": "Order not found"})
    assert (completing.status_code, completing.json()) == (404, {"detail": "Order not found"})
    assert (await order_row(db, order.pk)).status == "pending_payment"
    assert len(fakes.razorpay.orders) == 1


async def test_completing_with_no_payment_opened_is_a_400(rhttp, db, shop, fakes):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    answer = await process(rhttp, shop, order.pk, "razorpay", {"razorpay_payment_id": "pay_1",
                                                               "razorpay_order_id": "order_1",
                                                               "razorpay_signature": "00"})

    assert answer.status_code == 400 and "send payment_details without" in answer.json()["detail"]
    assert fakes.razorpay.orders == {}


# --- Flutterwave ---------------------------------------------------------------------------------

async def test_an_order_is_paid_on_flutterwaves_hosted_page_in_two_process_calls(rhttp, db, shop, fakes):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    opened = await process(rhttp, shop, order.pk, "flutterwave", {"return_url": "https://shop.example/back"})
    ((tx_ref, link),) = fakes.flutterwave.links.items()

    assert opened.status_code == 202, opened.text
    action = opened.json()["next_action"]
    assert action["type"] == "redirect_to_url" and action["redirect_url"].startswith("https://checkout.flutterwave")
    assert action["complete_with"] == ["transaction_id", "tx_ref"]
    assert link["redirect_url"] == "https://shop.example/back"

    redirect = fakes.flutterwave.pay(tx_ref)
    forged = await process(rhttp, shop, order.pk, "flutterwave",
                           {"transaction_id": redirect["transaction_id"], "tx_ref": "pg.someone-elses"})
    paid = await process(rhttp, shop, order.pk, "flutterwave",
                         {"transaction_id": int(redirect["transaction_id"]), "tx_ref": redirect["tx_ref"]})

    assert forged.status_code == 400, forged.text
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    assert (await order_row(db, order.pk)).status == "paid"
    await assert_ledger_balances(db)


# --- PayPal --------------------------------------------------------------------------------------

async def test_methods_list_paypal_with_its_client_id_and_the_currencies_paypal_takes(pp_http, shop):
    answer = await pp_http.get(f"{BASE}/methods", headers=auth(shop))

    (paypal,) = [m for m in answer.json()["methods"] if m["method"] == "paypal"]
    assert paypal["config"] == {"publishable_key": CLIENT_ID} and paypal["redirect"] is False
    assert {"USD", "EUR", "HUF", "JPY"} <= set(paypal["currencies"]) and "KWD" not in paypal["currencies"]
    assert CLIENT_SECRET not in answer.text


async def test_an_order_is_paid_with_paypal_once_the_buyer_approved(pp_http, db, shop, paypal):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    opened = await process(pp_http, shop, order.pk, "paypal", {})
    action = opened.json()["next_action"]
    early = await process(pp_http, shop, order.pk, "paypal", {"paypal_order_id": action["paypal_order_id"]})

    assert opened.status_code == 202, opened.text
    assert action["type"] == "paypal_approval" and action["paypal_order_id"] in paypal.orders
    assert action["redirect_url"] and action["client_id"] == CLIENT_ID
    assert early.status_code == 202 and early.json()["next_action"]["paypal_order_id"] == action["paypal_order_id"]
    assert paypal.captures == {}

    paypal.approve(action["paypal_order_id"])
    wrong = await process(pp_http, shop, order.pk, "paypal", {"paypal_order_id": "5O190127TN364715T"})
    paid = await process(pp_http, shop, order.pk, "paypal", {"paypal_order_id": action["paypal_order_id"]})

    assert wrong.status_code == 400 and "paypal_order_id" in wrong.json()["detail"]
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount_captured"]) == ("succeeded", order.total.decimal)
    assert len(paypal.captures) == 1
    await assert_ledger_balances(db)


async def test_a_paypal_approval_whose_funding_is_declined_answers_402(pp_http, db, shop, paypal):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    opened = await process(pp_http, shop, order.pk, "paypal", {})
    order_id = opened.json()["next_action"]["paypal_order_id"]
    paypal.approve(order_id, funding="declined")

    answer = await process(pp_http, shop, order.pk, "paypal", {"paypal_order_id": order_id})

    assert answer.status_code == 402 and "declined" in answer.json()["detail"]
    assert paypal.captures == {}


async def test_another_users_paypal_payment_answers_404(pp_http, db, shop, paypal):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    opened = await process(pp_http, shop, order.pk, "paypal", {})
    order_id = opened.json()["next_action"]["paypal_order_id"]
    paypal.approve(order_id)

    answer = await process(pp_http, shop, order.pk, "paypal", {"paypal_order_id": order_id}, email=OTHER)

    assert (answer.status_code, answer.json()) == (404, {"detail": "Order not found"})
    assert paypal.captures == {}
