"""Who reads which payments, refunds, ledger entries, holds and audit records, and what a page costs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.uow import SqlUnitOfWork
from domain.money import Money
from domain.numbers import refund_number
from domain.payments.refund_requests import AskRefund, request_refund
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from gql.schema.relay import to_global_id
from tests.graphql import gql
from tests.payments_fixtures import POLICY, VISA, customer, order_for, providers, staff

PAYMENT = "query($id: ID!) { payment(id: $id) { number status amount { amount currency } } }"
PAYMENTS = """query($f: PaymentFilterInput) {
  payments(first: 50, filter: $f) { totalCount edges { node { number } } } }"""


async def _paid(db, shop, items: dict[str, int], email: str = "customer@example.com", gateway=None):
    order = await order_for(db, shop, items, email)
    payment = await pay_order(PayOrder(customer(shop, email), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                              gateway or providers(), POLICY)
    return order, payment


def _numbers(body: dict, field: str) -> set[str]:
    return {e["node"]["number"] for e in body["data"][field]["edges"]}


async def test_the_buyer_sees_their_payment_and_another_customer_gets_null_as_for_a_missing_one(client, db, shop):
    _, payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    gid = to_global_id("Payment", payment.id)

    own = await gql(client, PAYMENT, {"id": gid}, token=shop.token("customer@example.com"))
    other = await gql(client, PAYMENT, {"id": gid}, token=shop.token("customer2@example.com"))
    missing = await gql(client, PAYMENT, {"id": to_global_id("Payment", 999_999)},
                        token=shop.token("customer2@example.com"))

    assert own["data"]["payment"] == {"number": payment.number, "status": "SUCCEEDED",
                                      "amount": {"amount": 1499, "currency": "USD"}}
    assert other == missing == {"data": {"payment": None}}


async def test_sellers_see_payments_of_orders_with_their_lines_and_staff_see_all(client, db, shop):
    _, sam = await _paid(db, shop, {"SAM-MUG-01": 1})
    _, sora = await _paid(db, shop, {"SORA-NOTE-01": 1}, "customer2@example.com")

    seller = await gql(client, PAYMENTS, token=shop.token("seller@example.com"))
    seller2 = await gql(client, PAYMENTS, token=shop.token("seller2@example.com"))
    staff_view = await gql(client, PAYMENTS, token=shop.token("staff@example.com"))
    buyer = await gql(client, PAYMENTS, token=shop.token("customer2@example.com"))
    sora_node = await gql(client, PAYMENT, {"id": to_global_id("Payment", sora.id)},
                          token=shop.token("seller@example.com"))

    assert _numbers(seller, "payments") == {sam.number}
    assert _numbers(seller2, "payments") == {sora.number}
    assert _numbers(staff_view, "payments") == {sam.number, sora.number}
    assert staff_view["data"]["payments"]["totalCount"] == 2
    assert _numbers(buyer, "payments") == {sora.number}
    assert sora_node == {"data": {"payment": None}}


async def test_payments_filter_by_buyer_status_and_date_for_staff(client, db, shop):
    _, first = await _paid(db, shop, {"SAM-MUG-01": 1})
    await _paid(db, shop, {"SAM-MUG-01": 1}, "customer2@example.com")
    token = shop.token("staff@example.com")
    buyer = to_global_id("User", shop.id_of("customer@example.com"))

    by_buyer = await gql(client, PAYMENTS, {"f": {"buyerId": buyer}}, token=token)
    failed = await gql(client, PAYMENTS, {"f": {"status": ["FAILED"]}}, token=token)
    now = datetime.now(UTC)
    recent = await gql(client, PAYMENTS, {"f": {"createdFrom": (now - timedelta(hours=1)).isoformat(),
                                                "createdTo": (now + timedelta(hours=1)).isoformat()}}, token=token)
    tomorrow = await gql(client, PAYMENTS, {"f": {"createdFrom": (now + timedelta(days=1)).isoformat()}}, token=token)

    assert _numbers(by_buyer, "payments") == {first.number}
    assert failed["data"]["payments"]["totalCount"] == 0
    assert recent["data"]["payments"]["totalCount"] == 2
    assert tomorrow["data"]["payments"]["totalCount"] == 0


async def test_payments_page_newest_first_through_their_cursors(client, db, shop):
    paid = [(await _paid(db, shop, {"SAM-MUG-01": 1}))[1] for _ in range(3)]
    query = """query($after: String) { payments(first: 2, after: $after) {
                 totalCount pageInfo { hasNextPage endCursor } edges { node { number } } } }"""
    token = shop.token("customer@example.com")

    first = (await gql(client, query, token=token))["data"]["payments"]
    second = (await gql(client, query, {"after": first["pageInfo"]["endCursor"]}, token=token))["data"]["payments"]

    assert [e["node"]["number"] for e in first["edges"] + second["edges"]] == [p.number for p in reversed(paid)]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)
    assert first["totalCount"] == second["totalCount"] == 3


async def test_an_order_lists_its_payments_and_a_payment_its_order_and_buyer(client, db, shop):
    order, payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    query = """query($o: ID!, $p: ID!) {
      order(id: $o) { payments { number } }
      payment(id: $p) { order { number } buyer { email } } }"""
    ids = {"o": to_global_id("Order", order.id), "p": to_global_id("Payment", payment.id)}

    buyer = await gql(client, query, ids, token=shop.token("customer@example.com"))
    seller = await gql(client, query, ids, token=shop.token("seller@example.com"))

    assert buyer["data"] == {"order": {"payments": [{"number": payment.number}]},
                             "payment": {"order": {"number": order.number}, "buyer": {"email": "customer@example.com"}}}
    assert seller["data"]["payment"] == {"order": {"number": order.number}, "buyer": None}


async def test_refunds_are_listed_for_their_buyer_seller_and_staff_and_resolve_as_nodes(client, db, shop):
    gateway = providers()
    _, payment = await _paid(db, shop, {"SAM-MUG-01": 2}, gateway=gateway)
    _, refund = await refund_payment(RefundPayment(staff(shop), payment.id, Money.of(1000, "USD"), "damaged"),
                                     SqlUnitOfWork(db), gateway, POLICY)
    query = """{ refunds(first: 10) { totalCount edges { node {
                 id number amount { amount } reason status paymentId } } } }"""

    buyer = await gql(client, query, token=shop.token("customer@example.com"))
    seller = await gql(client, query, token=shop.token("seller@example.com"))
    other = await gql(client, query, token=shop.token("customer2@example.com"))
    node = await gql(client, "query($id: ID!) { node(id: $id) { ... on Refund { number } } }",
                     {"id": to_global_id("Refund", refund.id)}, token=shop.token("customer@example.com"))

    expected = {"id": to_global_id("Refund", refund.id), "number": refund_number(refund.id), "amount": {"amount": 1000},
                "reason": "damaged", "status": "SUCCEEDED", "paymentId": to_global_id("Payment", payment.id)}
    assert [e["node"] for e in buyer["data"]["refunds"]["edges"]] == [expected]
    assert seller["data"]["refunds"] == buyer["data"]["refunds"]
    assert other["data"]["refunds"] == {"totalCount": 0, "edges": []}
    assert node["data"]["node"] == {"number": expected["number"]}


async def test_refund_requests_are_their_askers_and_staff_see_every_one(client, db, shop):
    _, payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    await request_refund(AskRefund(customer(shop), payment.id, None, "arrived broken"), SqlUnitOfWork(db))
    query = "{ refundRequests { totalCount edges { node { reason status amount { amount } } } } }"

    asker = await gql(client, query, token=shop.token("customer@example.com"))
    other = await gql(client, query, token=shop.token("customer2@example.com"))
    staff_view = await gql(client, query, token=shop.token("staff@example.com"))

    expected = {"totalCount": 1, "edges": [{"node": {"reason": "arrived broken", "status": "PENDING",
                                                     "amount": {"amount": 1499}}}]}
    assert asker["data"]["refundRequests"] == staff_view["data"]["refundRequests"] == expected
    assert other["data"]["refundRequests"]["totalCount"] == 0


async def test_staff_read_balanced_ledger_transactions_and_a_customer_is_forbidden(client, db, shop):
    gateway = providers()
    _, payment = await _paid(db, shop, {"SAM-MUG-01": 1, "SORA-NOTE-01": 1}, gateway=gateway)
    await refund_payment(RefundPayment(staff(shop), payment.id, Money.of(500, "USD")), SqlUnitOfWork(db), gateway,
                         POLICY)
    query = """{ transactions(first: 10) { totalCount edges { node { kind ref parentRef
                 entries { account accountKind ownerId side amount { amount currency } } } } } }"""

    body = await gql(client, query, token=shop.token("staff@example.com"))
    refused = await gql(client, query, token=shop.token("customer@example.com"), expect_status=403)

    nodes = [e["node"] for e in body["data"]["transactions"]["edges"]]
    assert [n["kind"] for n in nodes] == ["REFUND", "CAPTURE"]
    assert nodes[0]["parentRef"] == nodes[1]["ref"] == f"capture:{payment.uuid}"
    for node in nodes:
        net: dict[str, int] = {}
        for entry in node["entries"]:
            code, minor = entry["amount"]["currency"], entry["amount"]["amount"]
            net[code] = net.get(code, 0) + (minor if entry["side"] == "DEBIT" else -minor)
        assert set(net.values()) == {0}
    sellers = {e["ownerId"] for e in nodes[1]["entries"] if e["accountKind"] == "SELLER_HELD"}
    assert sellers == {to_global_id("User", shop.id_of(e)) for e in ("seller@example.com", "seller2@example.com")}
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_seller_sees_their_hold_after_a_capture_releasing_hold_days_after_delivery(client, db, shop):
    order, payment = await _paid(db, shop, {"SAM-MUG-01": 2, "SORA-NOTE-01": 1})
    query = """query($f: HoldFilterInput) { holds(filter: $f) { totalCount edges { node {
                 paymentId sellerId amount { amount } held { amount } releasesAt releasedAt status } } } }"""
    sam = to_global_id("User", shop.id_of("seller@example.com"))

    seller = await gql(client, query, token=shop.token("seller@example.com"))
    staff_all = await gql(client, query, token=shop.token("staff@example.com"))
    staff_one = await gql(client, query, {"f": {"sellerId": sam}}, token=shop.token("staff@example.com"))
    refused = await gql(client, query, token=shop.token("customer@example.com"), expect_status=403)

    (hold,) = [e["node"] for e in seller["data"]["holds"]["edges"]]
    assert hold == {
        "paymentId": to_global_id("Payment", payment.id), "sellerId": sam, "amount": {"amount": 2698},
        "held": {"amount": 2698}, "releasesAt": None, "releasedAt": None, "status": "HELD"}  # not delivered yet
    assert staff_all["data"]["holds"]["totalCount"] == 2
    assert staff_one["data"]["holds"] == seller["data"]["holds"]
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    before = datetime.now(UTC)
    delivered = await client.post(f"/api/payments/orders/{order.uuid}/deliver/", json={},
                                  headers={"Authorization": f"Bearer {shop.token('seller@example.com')}"})
    after = datetime.now(UTC)
    (hold,) = [e["node"] for e in (await gql(client, query, token=shop.token("seller@example.com")))
               ["data"]["holds"]["edges"]]

    assert delivered.status_code == 200, delivered.text
    assert before + timedelta(days=7) <= datetime.fromisoformat(hold["releasesAt"]) <= after + timedelta(days=7)


async def test_staff_read_the_audit_log_of_checkouts_and_payments(client, db, shop):
    _order, payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    query = """query($f: AuditLogFilterInput) { auditLog(first: 50, filter: $f) { totalCount edges { node {
                 action objectType objectId actorId actorRole after } } } }"""

    everything = await gql(client, query, token=shop.token("staff@example.com"))
    created = await gql(client, query, {"f": {"action": ["payment.create"]}}, token=shop.token("admin@example.com"))
    refused = await gql(client, query, token=shop.token("customer@example.com"), expect_status=403)

    actions = {e["node"]["action"] for e in everything["data"]["auditLog"]["edges"]}
    assert {"order.checkout", "payment.create"} <= actions
    (entry,) = [e["node"] for e in created["data"]["auditLog"]["edges"]]
    assert (entry["objectType"], entry["objectId"], entry["actorRole"]) == ("payment", str(payment.uuid), "customer")
    assert entry["actorId"] == to_global_id("User", shop.id_of("customer@example.com"))
    assert '"amount": "14.99"' in entry["after"]
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_payment_methods_offer_the_dummy_gateway_with_its_test_cards_and_no_secrets(client, shop):
    query = "{ paymentMethods { id name provider kind capabilities publicConfig { key value } } }"

    body = await gql(client, query, token=shop.token("customer@example.com"))

    (dummy,) = [m for m in body["data"]["paymentMethods"] if m["id"] == "dummy"]
    assert (dummy["provider"], dummy["kind"]) == ("dummy", "card")
    assert {"authorize", "refund"} <= set(dummy["capabilities"])
    assert {"key": "test_card.succeeds", "value": "4242 4242 4242 4242"} in dummy["publicConfig"]
    assert not any("secret" in line["key"] for m in body["data"]["paymentMethods"] for line in m["publicConfig"])


async def test_a_page_of_payments_with_orders_buyers_and_refunds_costs_the_same_statements_whatever_its_size(
        client, db, shop, statements):
    gateway = providers()
    for n in range(21):
        _, payment = await _paid(db, shop, {"SAM-MUG-01": 1}, "customer@example.com" if n % 2 else
                                 "customer2@example.com", gateway=gateway)
        if n % 3 == 0:
            await refund_payment(RefundPayment(staff(shop), payment.id, Money.of(100, "USD")), SqlUnitOfWork(db),
                                 gateway, POLICY)
    query = """query($n: Int) { payments(first: $n) { edges { node {
                 order { lines { sku } } buyer { email } refunds { amount { amount } } } } } }"""
    token = shop.token("staff@example.com")

    with statements:
        one = await gql(client, query, {"n": 1}, token=token)
    cost_of_one = statements.count
    with statements:
        many = await gql(client, query, {"n": 21}, token=token)

    assert len(one["data"]["payments"]["edges"]) == 1 and len(many["data"]["payments"]["edges"]) == 21
    assert statements.count == cost_of_one <= 6
