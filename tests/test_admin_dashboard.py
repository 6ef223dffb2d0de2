"""The admin dashboard in headless Chromium, against a real server with the demo shop loaded: it
shows the figures and payments GraphQL gives an admin, and a refund request approved through it
refunds the payment."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from db.payment_tables import PaymentAttemptRow, PaymentRow, RefundRequestRow
from db.uow import SqlUnitOfWork
from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews, record_dispute
from domain.money import Money
from paygate.bootstrap import build_services, close_services
from paygate.dashboard import ASSETS, CONTENT_SECURITY_POLICY
from paygate.worker import JOBS, run_once
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.webhook_receiver import Receiver

pytest_plugins = ["tests.browser"]

CUSTOMER = "customer@example.com"
ADMIN = "admin@example.com"
VISA = "4242424242424242"
DECLINED = "4000000000000002"
DELIVER = tuple(job for job in JOBS if job.name == "deliver-webhooks")


async def _pay(client, token: str, sku: str, card: str) -> dict:
    products = await gql(client, "{ products(first: 100) { edges { node { id sku } } } }")
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == sku)
    await gql(client, "mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
              {"p": product}, token=token)
    made = await gql(client, "mutation { checkout { ... on CheckoutSuccess { order { id } } } }", token=token)
    paid = await gql(client, """
        mutation($o: ID!, $n: String!) {
          processPayment(input: {orderId: $o, card: {number: $n, expMonth: 12, expYear: 2034, cvc: "123"}}) {
            __typename ... on Payment { id number status } ... on PaymentDeclined { code }
          }
        }""", {"o": made["data"]["checkout"]["order"]["id"], "n": card}, token=token)
    return paid["data"]["processPayment"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    server, task, hook.url = await start_server(hook.app())
    yield hook
    await stop_server(server, task)


@pytest.fixture
async def shop_with_sales(client, shop, receiver, database_url, db) -> dict:
    """The demo shop (the demo loader) with a merchant's webhook endpoint, two paid orders, one
    declined card and a refund request."""
    customer = shop.token(CUSTOMER)
    endpoint = await gql(client, """mutation($url: String!) { webhookEndpointCreate(input: {url: $url,
                                      eventTypes: ["payment.succeeded"]}) { __typename } }""",
                         {"url": receiver.url + "/hook"}, token=shop.token(ADMIN, "admin"))
    assert endpoint["data"]["webhookEndpointCreate"]["__typename"] == "WebhookEndpoint", endpoint
    mug = await _pay(client, customer, "SAM-MUG-01", VISA)
    knife = await _pay(client, customer, "SAM-KNIFE-01", VISA)
    declined = await _pay(client, customer, "SORA-NOTE-01", DECLINED)
    assert (mug["status"], knife["status"], declined["__typename"]) == ("SUCCEEDED", "SUCCEEDED", "PaymentDeclined")
    asked = await gql(client, """mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 500,
                                 reason: "Arrived chipped"}) { __typename ... on RefundRequest { legacyId } } }""",
                      {"p": mug["id"]}, token=customer)
    async with db.read_sessions() as session:  # the bank disputes the knife's payment
        knife_ref = (await session.exec(select(PaymentRow.provider_ref)
                                        .where(PaymentRow.number == knife["number"]))).one()
    await record_dispute(DisputeNews(provider="dummy", event_id="evt_dashboard", event_type="dispute.test",
                                     provider_dispute_id="dp_dashboard", payment_ref=knife_ref,
                                     amount=Money.of(1000, "USD"), status=DisputeStatus.OPENED,
                                     reason="fraudulent", evidence_due_by=None), SqlUnitOfWork(db))
    services = build_services(settings_for(database_url), db)
    try:  # the worker's job, once: the two payments' events reach the receiver
        assert await run_once(db, services, jobs=DELIVER) == {"deliver-webhooks": 2}
    finally:
        await close_services(services)
    return {"mug": mug, "knife": knife, "request": asked["data"]["refundRequest"]["legacyId"]}


@pytest.fixture
async def page(browser, served) -> AsyncIterator[object]:
    context = await browser.new_context(base_url=served.url)
    context.set_default_timeout(10_000)  # a failing wait fails fast; the page answers in well under a second
    opened = await context.new_page()
    opened.errors = []  # console errors and uncaught exceptions, CSP refusals among them
    opened.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
    opened.on("pageerror", lambda e: opened.errors.append(str(e)))
    yield opened
    await context.close()


async def _open_as_admin(page, shop) -> None:
    answer = await page.goto("/admin/")
    assert answer.status == 200
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    await page.fill("#token", shop.token(ADMIN, "admin"))
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("body[data-loaded=true]")


async def test_the_dashboard_shows_an_admin_the_statistics_and_payments_from_graphql(
        page, shop, shop_with_sales):
    await _open_as_admin(page, shop)

    usd = page.locator("#stats-cards article[data-currency=USD]")
    figures = await usd.locator(".figures").inner_text()
    assert "Payments\n3" in figures
    assert "Success rate\n66.67 %" in figures
    assert "Revenue\n$54.98" in figures
    revenue_bars = usd.locator("svg.revenue g.bar")
    assert await revenue_bars.count() == 1
    assert "$54.98" in await revenue_bars.first.text_content()
    assert await usd.locator("svg.success-rate g.bar[data-label=dummy] text.value").text_content() == "66.67 %"
    table = await page.locator("#payments-table").inner_text()
    assert shop_with_sales["mug"]["number"] in table
    assert shop_with_sales["knife"]["number"] in table
    assert "FAILED" in table
    await page.select_option("#payments-form select[name=status]", "FAILED")
    await page.click("#payments-form button[type=submit]")
    await page.wait_for_selector("#payments-table[data-total='1']")  # (the page's CSP forbids eval)
    assert shop_with_sales["mug"]["number"] not in await page.locator("#payments-table").inner_text()
    holds = page.locator("#holds-table tbody tr", has_text="HELD")
    assert await holds.count() == 2  # the mug's and the knife's seller shares
    assert "$13.49" in await page.locator("#holds-table").inner_text()  # $14.99 less the 10 % fee
    balances = await page.locator("#balances-table").inner_text()
    # Held: $13.49 + $35.99 ($39.99 less its fee), less the $9.00 of the seller's share the open
    # $10.00 dispute withholds (the platform's fee gives the other $1.00), from marketplaceReport.
    assert "40.48 USD" in balances
    assert "No payout." in await page.locator("#payouts-table").inner_text()
    deliveries = page.locator("#deliveries-table tbody tr", has_text="payment.succeeded")
    assert await deliveries.count() == 2
    assert "SUCCEEDED" in await deliveries.first.inner_text()
    assert "\t204\t" in await deliveries.first.inner_text()  # the receiver's answer
    dispute = await page.locator("#disputes-table").inner_text()
    assert "dp_dashboard" in dispute and shop_with_sales["knife"]["number"] in dispute and "OPENED" in dispute
    assert "$10.00" in dispute
    assert await page.locator("#status").inner_text() == "Up to date."
    assert page.errors == []


async def test_approving_a_refund_request_on_the_dashboard_refunds_the_payment(
        page, shop, shop_with_sales, db):
    await _open_as_admin(page, shop)
    row = page.locator("#requests-table tbody tr", has_text="Arrived chipped")
    assert shop_with_sales["mug"]["number"] in await row.inner_text()

    await row.locator("input[name=note]").fill("Sorry about the mug")
    await row.locator("button.approve").click()
    await page.wait_for_selector("#status:has-text('approved')")

    async with db.read_sessions() as session:
        request = (await session.exec(select(RefundRequestRow).where(
            RefundRequestRow.id == shop_with_sales["request"]))).one()
        payment = await session.get(PaymentRow, request.payment_id)
        refunds = (await session.exec(select(PaymentAttemptRow).where(
            PaymentAttemptRow.payment_id == payment.id, PaymentAttemptRow.kind == "refund"))).all()
    assert (request.status, request.decision_note) == ("approved", "Sorry about the mug")
    assert payment.refunded_minor == 500
    assert [(r.amount_minor, r.status) for r in refunds] == [(500, "succeeded")]
    # The status is shown before the tables reload (paygate/admin/requests.js): wait for them.
    await page.wait_for_selector("#requests-table:has-text('No refund request.')")
    await page.wait_for_selector("#payments-table:has-text('$5.00')")
    assert "No refund request." in await page.locator("#requests-table").inner_text()
    assert "$5.00" in await page.locator("#payments-table").inner_text()
    assert page.errors == []


async def test_the_page_and_its_scripts_are_the_committed_files_under_a_self_only_policy(client, shop_with_sales):
    page = await client.get("/admin/")
    script = await client.get("/admin/assets/app.js")
    bare = await client.get("/admin", follow_redirects=True)

    # The same bytes whoever asks, whatever the database holds: no data is ever put in the page.
    assert page.status_code == 200 and page.content == (ASSETS / "index.html").read_bytes()
    assert shop_with_sales["mug"]["number"] not in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for answer in (page, script):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe" not in CONTENT_SECURITY_POLICY
    assert bare.url.path == "/admin/" and bare.status_code == 200
