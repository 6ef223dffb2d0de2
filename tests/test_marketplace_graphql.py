"""The marketplace on GraphQL over HTTP: a seller onboards, staff deliver and release early, the
seller transfers and pays out, and the admins' report agrees with the ledger."""
from __future__ import annotations

from tests.graphql import gql
from tests.marketplace_fixtures import paid_order, seller_books

SELLER, SELLER2 = "seller@example.com", "seller2@example.com"
ACCOUNT = """mutation($c: String!) { connectedAccountCreate(input: {country: $c, businessType: COMPANY}) {
  __typename ... on ConnectedAccount { providerRef country businessType payoutsEnabled requirements }
  ... on Error { code message } } }"""
SESSION = """mutation { onboardingSessionCreate { __typename ... on OnboardingSession { accountId clientSecret url }
  ... on Error { code message } } }"""
STATUS = "{ connectedAccount { providerRef payoutsEnabled detailsSubmitted requirements } }"
DELIVER = """mutation($o: ID!) { orderMarkDelivered(input: {orderId: $o}) {
  __typename ... on OrderDelivered { order { uuid } holds { sellerId status releasesAt amount { amount } } }
  ... on Error { code message } } }"""
RELEASE = """mutation($p: ID!, $s: ID!) { holdRelease(input: {paymentId: $p, sellerId: $s}) {
  __typename ... on SellerHold { status releasedAt } ... on Error { code message } } }"""
TRANSFER = """mutation($p: ID!) { transfer(input: {paymentId: $p, transferGroup: "cart-1"}) {
  __typename ... on TransferSuccess { transfers { id uuid amount { amount currency } status transferGroup } }
  ... on Error { code message } } }"""
PAYOUT = """mutation { payout(input: {currency: "USD"}) {
  __typename ... on Payout { id legacyId uuid amount { amount decimal } status transfers { uuid } }
  ... on Error { code message } } }"""
PAYOUTS = "{ payouts(first: 10) { totalCount edges { node { uuid amount { amount } status } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Payout { uuid } } }"
REPORT = """query($s: ID) { marketplaceReport(filter: {sellerId: $s}) { payoutCount payouts { currency status amount }
  paymentCount payments { currency captured refunded } sellerBalances { currency held available transferred paidOut } } }"""


async def test_a_seller_onboards_is_paid_and_paid_out_on_graphql(client, shop, db):
    seller_token, staff = shop.token(SELLER), shop.token("staff@example.com")
    created = (await gql(client, ACCOUNT, {"c": "GB"}, token=seller_token))["data"]["connectedAccountCreate"]
    session = (await gql(client, SESSION, token=seller_token))["data"]["onboardingSessionCreate"]
    await client.post(f"/dummy/connect/{session['accountId']}/onboard")
    await gql(client, ACCOUNT, {"c": "GB"}, token=seller_token)  # the same account again, refreshed below
    order, payment = await paid_order(client, shop, {"SAM-MUG-01": 2})

    delivered = (await gql(client, DELIVER, {"o": order["id"]}, token=seller_token))["data"]["orderMarkDelivered"]
    too_soon = (await gql(client, TRANSFER, {"p": payment["id"]}, token=seller_token))["data"]["transfer"]
    by_seller = (await gql(client, RELEASE, {"p": payment["id"], "s": delivered["holds"][0]["sellerId"]},
                           token=seller_token))["data"]["holdRelease"]
    released = (await gql(client, RELEASE, {"p": payment["id"], "s": delivered["holds"][0]["sellerId"]},
                          token=staff))["data"]["holdRelease"]
    moved = (await gql(client, TRANSFER, {"p": payment["id"]}, token=seller_token))["data"]["transfer"]
    paid = (await gql(client, PAYOUT, token=seller_token))["data"]["payout"]

    assert (created["__typename"], created["country"], created["businessType"], created["payoutsEnabled"]) == (
        "ConnectedAccount", "GB", "company", False)
    assert session["clientSecret"].startswith(session["accountId"])
    assert (delivered["order"]["uuid"], delivered["holds"][0]["status"]) == (order["uuid"], "held")
    assert delivered["holds"][0]["releasesAt"] is not None
    assert too_soon["__typename"] == "Conflict" and "on hold" in too_soon["message"]
    assert by_seller["__typename"] == "NotAllowed"
    assert released["status"] == "released"
    assert [(t["amount"], t["status"], t["transferGroup"]) for t in moved["transfers"]] == [
        ({"amount": 2698, "currency": "USD"}, "paid", "cart-1")]
    assert (paid["__typename"], paid["amount"], paid["status"]) == ("Payout", {"amount": 2698, "decimal": "26.98"},
                                                                    "paid")
    assert paid["transfers"] == [{"uuid": moved["transfers"][0]["uuid"]}]

    mine = (await gql(client, PAYOUTS, token=seller_token))["data"]["payouts"]
    theirs = (await gql(client, PAYOUTS, token=shop.token(SELLER2)))["data"]["payouts"]
    node_for_other = (await gql(client, NODE, {"id": paid["id"]}, token=shop.token(SELLER2)))["data"]["node"]
    status = (await gql(client, STATUS, token=seller_token))["data"]["connectedAccount"]
    assert mine["totalCount"] == 1 and mine["edges"][0]["node"]["uuid"] == paid["uuid"]
    assert theirs["totalCount"] == 0 and node_for_other is None
    assert status["providerRef"] == session["accountId"]

    report = await gql(client, REPORT, {"s": delivered["holds"][0]["sellerId"]}, token=shop.token("admin@example.com"))
    books = await seller_books(db, shop.id_of(SELLER))
    data = report["data"]["marketplaceReport"]
    assert data["payouts"] == [{"currency": "USD", "status": "paid", "amount": books["paid_out"]}]
    assert data["sellerBalances"] == [{"currency": "USD", "held": books["held"], "available": books["available"],
                                       "transferred": books["transferred"], "paidOut": books["paid_out"]}]
    assert data["payments"] == [{"currency": "USD", "captured": 2998, "refunded": 0}]


async def test_a_buyer_is_not_allowed_to_create_an_account_or_pay_out(client, shop):
    token = shop.token("customer@example.com")

    account = (await gql(client, ACCOUNT, {"c": "US"}, token=token))["data"]["connectedAccountCreate"]
    payout = (await gql(client, PAYOUT, token=token))["data"]["payout"]
    report = await gql(client, REPORT, {"s": None}, token=shop.token("staff@example.com"))

    assert account["__typename"] == payout["__typename"] == "NotAllowed"
    assert report["data"]["marketplaceReport"] is None  # admins only
