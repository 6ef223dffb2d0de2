"""No card number is kept or logged anywhere but where cards go (CONTRACT: card fields; only brand
and last four stored). Every flow runs with card numbers in every free-text field, header and
path a client can reach; then every table of the database's catalog, every log record, stdout
and stderr are scanned for card numbers written plain, with spaces or with dashes.

The scan is the test's own: a Luhn check over every run of digits with single space or dash
separators that stands as a token, plus a search for each planted number with its separators
removed, so that a masking that kept the digits (or moved them) is caught too.
"""
from __future__ import annotations

import itertools
import logging
import re

import httpx
import pytest
from sqlalchemy import text

from paygate.logs import configure_logging
from tests.graphql import Shop

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

CUSTOMER, STAFF = "customer@example.com", "staff@example.com"
# Numbers a customer might type anywhere; the card field's own number is planted too (paying).
PLANTED = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4000056655665556",
           "4242424242424242", "4000000000000002"]


def written(number: str, how: str) -> str:
    if how == "plain":
        return number
    groups = [number[i:i + 4] for i in range(0, len(number), 4)]
    return (" " if how == "spaced" else "-").join(groups)


# Every way of writing every planted number, handed out in turn.
_WAYS = itertools.cycle([written(n, how) for how in ("spaced", "dashed", "plain") for n in PLANTED[:5]])


def card_text() -> str:
    return next(_WAYS)


# --- the scan -------------------------------------------------------------------------------------

_TOKEN_RUN = re.compile(r"(?<![0-9A-Za-z_])[0-9]+(?:[ -][0-9]+)*(?![0-9A-Za-z_])")


def _luhn(digits: str) -> bool:
    checksum = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        checksum += sum(divmod(d * 2, 10)) if i % 2 else d
    return checksum % 10 == 0


def card_numbers_in(haystack: str) -> list[str]:
    found = []
    for run in _TOKEN_RUN.findall(haystack):
        groups = re.split(r"[ -]", run)
        for start in range(len(groups)):
            for end in range(start + 1, len(groups) + 1):
                digits = "".join(groups[start:end])
                if 13 <= len(digits) <= 19 and _luhn(digits):
                    found.append(" ".join(groups[start:end]))
    squeezed = re.sub(r"[ -]", "", haystack)
    found.extend(n for n in PLANTED if n in squeezed)
    return found


def _as_text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def every_stored_text(db) -> list[tuple[str, str]]:
    """(table, the text of one row) for every row of every table the database's catalog lists."""
    catalog = ("SELECT name FROM sqlite_master WHERE type = 'table'" if db.is_sqlite else
               "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    rows = []
    async with db.engine.connect() as conn:
        tables = (await conn.execute(text(catalog))).scalars().all()
        assert "payments" in tables and "idempotency_keys" in tables, tables
        for table in tables:
            for row in (await conn.execute(text(f'SELECT * FROM "{table}"'))).all():
                rows.append((table, " | ".join(_as_text(value) for value in row)))
    return rows


# --- the flows --------------------------------------------------------------------------------------

class Client:
    """Every request carries a card number in X-Request-Id, and every POST one in Idempotency-Key."""

    def __init__(self, http: httpx.AsyncClient, shop: Shop) -> None:
        self.http, self.shop, self.sent = http, shop, 0

    def headers(self, email: str | None, method: str) -> dict[str, str]:
        self.sent += 1
        headers = {"X-Request-Id": card_text()}
        if method == "POST":
            headers["Idempotency-Key"] = f"{card_text()} #{self.sent}"
        if email:
            headers["Authorization"] = f"Bearer {self.shop.token(email)}"
        return headers

    async def gql(self, query: str, variables: dict | None = None, email: str | None = CUSTOMER) -> dict:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=self.headers(email, "POST"))
        return response.json()

    async def post(self, path: str, body: dict, email: str | None = CUSTOMER) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers(email, "POST"))

    async def get(self, path: str, email: str | None = CUSTOMER) -> httpx.Response:
        return await self.http.get(path, headers=self.headers(email, "GET"))


def answer(body: dict, field: str) -> dict:
    assert "data" in body and body["data"] and body["data"].get(field), body
    return body["data"][field]


RESULT = "__typename ... on Error { code message }"


async def run_every_flow(c: Client, fake) -> None:
    products = {e["node"]["sku"]: e["node"]["id"] for e in answer(
        await c.gql("{ products(first: 100) { edges { node { id sku } } } }", email=None), "products")["edges"]}

    async def checked_out(sku: str, address: str | None = None) -> dict:
        await c.gql("mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                    {"p": products[sku]})
        made = await c.gql("mutation($a: ID) { checkout(input: {shippingAddressId: $a}) { ... on CheckoutSuccess "
                           "{ order { id uuid legacyId } } } }", {"a": address})
        return answer(made, "checkout")["order"]

    async def pay(order: dict, number: str = "4242 4242 4242 4242") -> dict:
        return answer(await c.gql(
            "mutation($o: ID!, $n: String!) { processPayment(input: {orderId: $o, card: {number: $n, expMonth: 12, "
            "expYear: 2034, cvc: \"123\"}}) { ... on Payment { id number } ... on PaymentDeclined { declineCode } } }",
            {"o": order["id"], "n": number}), "processPayment")

    # Addresses: every line refused with a card number, then a clean one kept.
    address_input = {"name": "Ada", "line1": "1 Main St", "line2": "", "city": "Springfield",
                     "postalCode": "12345", "country": "US"}
    create_address = f"mutation($i: AddressInput!) {{ addressCreate(input: $i) {{ {RESULT} ... on Address {{ id }} }} }}"
    for name in ("name", "line1", "line2", "city", "postalCode"):
        await c.gql(create_address, {"i": address_input | {name: f"flat {card_text()}"}})
    address = answer(await c.gql(create_address, {"i": address_input}), "addressCreate")["id"]

    # Paying with a card (where cards go), a declined card, then refunds, requests and cancels.
    paid_order = await checked_out("SAM-MUG-01", address)
    payment = await pay(paid_order)
    await pay(await checked_out("SAM-KNIFE-01"), "4000-0000-0000-0002")
    refund = (f"mutation($i: RefundInput!) {{ refund(input: $i) {{ {RESULT} }} }}")
    await c.gql(refund, {"i": {"paymentId": payment["id"], "amount": 100, "reason": f"to {card_text()}"}}, STAFF)
    await c.gql(refund, {"i": {"paymentId": payment["id"], "amount": 100, "reason": "damaged"}}, STAFF)
    ask = f"mutation($i: RefundRequestInput!) {{ refundRequest(input: $i) {{ {RESULT} ... on RefundRequest {{ id }} }} }}"
    await c.gql(ask, {"i": {"paymentId": payment["id"], "amount": 100, "reason": f"card {card_text()}"}})
    request = answer(await c.gql(ask, {"i": {"paymentId": payment["id"], "amount": 100, "reason": "chipped"}}),
                     "refundRequest")["id"]
    decide = f"mutation($i: RefundRequestDecisionInput!) {{ refundRequestApprove(input: $i) {{ {RESULT} }} }}"
    await c.gql(decide, {"i": {"id": request, "note": f"sent to {card_text()}"}}, STAFF)
    await c.gql(decide, {"i": {"id": request, "note": "ok"}}, STAFF)
    cancel = f"mutation($i: CancelInput!) {{ cancel(input: $i) {{ {RESULT} }} }}"
    await c.gql(cancel, {"i": {"orderId": paid_order["id"], "reason": f"please refund to card {card_text()}"}})
    await c.gql(cancel, {"i": {"orderId": paid_order["id"], "reason": "changed my mind"}})

    # Stripe: a token field fed a card number, pages with one in their URLs, billing's text.
    stripe_order = await checked_out("SAM-TENT-01")
    pay_with = ("mutation($o: ID!, $m: String!) { processPayment(input: {orderId: $o, provider: \"stripe\", "
                f"paymentMethod: $m}}) {{ {RESULT} }} }}")
    await c.gql(pay_with, {"o": stripe_order["id"], "m": card_text()})
    await c.gql(pay_with, {"o": stripe_order["id"], "m": "pm_card_visa"})
    await c.gql("mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                {"p": products["SAM-MUG-01"]})
    await c.gql(f"mutation($u: String!) {{ checkout(input: {{provider: \"stripe\", kind: HOSTED, returnUrl: $u}}) "
                f"{{ {RESULT} }} }}", {"u": f"https://shop.example/back?card={card_text()}"})
    customer = f"mutation($i: CustomerCreateInput!) {{ customerCreate(input: $i) {{ {RESULT} ... on BillingCustomer {{ id }} }} }}"
    await c.gql(customer, {"i": {"name": f"Ada {card_text()}"}})
    customer_id = answer(await c.gql(customer, {"i": {"name": "Ada"}}), "customerCreate")["id"]
    await c.gql(f"mutation($i: BillingSubscriptionCreateInput!) {{ billingSubscriptionCreate(input: $i) {{ {RESULT} }} }}",
                {"i": {"customerId": customer_id, "priceId": fake.billing.price(),
                       "metadata": [{"key": "note", "value": card_text()}]}})

    # Malformed GraphQL carrying card numbers: syntax errors, bad variables, ids.
    await c.gql(f'query {{ node(id: "{card_text()}") {{ id }}')
    await c.gql(f"{{ products(first: 1) {{ {written(PLANTED[3], 'plain')} }} }}")  # "found Int '6011…'"
    await c.gql("query($n: Int) { products(first: $n) { totalCount } }", {"n": card_text()})
    await c.gql(f'query {{ node(id: "{card_text()}") {{ id }} }}')
    await c.gql(f'mutation {{ cancel(input: {{orderId: "{card_text()}", reason: "x"}}) {{ {RESULT} }} }}')

    # The seeds' REST routes.
    rest_order = await checked_out("SAM-MUG-01")
    await c.post(f"/api/payments/orders/{card_text()}/cancel/", {"cancellation_reason": "x"})
    await c.post(f"/api/payments/orders/{rest_order['uuid']}/cancel/", {"cancellation_reason": f"to {card_text()}"})
    await c.post("/api/payments/checkout_session/", {"return_url": f"https://shop.example/?c={card_text()}"})
    await c.post("/orders/api/create-stripe-order/", {"shipping_address": 1, "cancel_url": f"https://x.example/{card_text()}"})
    intent = (await c.post("/api/payment/create-intent/", {"order_id": rest_order["legacyId"], "gateway": "dummy"})).json()
    await c.post("/api/payment/create-intent/", {"order_id": rest_order["legacyId"], "gateway": card_text()})
    card = {"card_number": "4242-4242-4242-4242", "expiry_month": "12", "expiry_year": "2034", "cvv": "123"}
    await c.post("/api/payment/process/", {"transaction_id": intent["transaction_id"], "payment_method": card_text(),
                                           "payment_data": card})
    await c.post("/api/payment/process/", {"transaction_id": intent["transaction_id"],
                                           "payment_method": "credit_card", "payment_data": card})
    await c.post("/api/payment/refund/", {"transaction_id": intent["transaction_id"], "reason": f"to {card_text()}"})
    await c.post("/api/payment/refund/", {"transaction_id": intent["transaction_id"], "reason": "late",
                                          "amount": "1.00"})
    await c.get(f"/api/payment/transactions/{card_text()}/")
    await c.post("/api/v1/payments/stripe/create-payment-intent/",
                 {"amount": "10.00", "currency": "usd", "metadata": {"note": card_text()}})
    await c.post("/api/v1/payments/stripe/create-customer/", {"name": card_text()})
    await c.get(f"/nowhere/{card_text()}")
    await c.get(f"/graphql/{card_text()}")


@pytest.fixture
def restored_logging():
    """Logging as it was before the test, whatever the test configured."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate,
                     logging.getLogger(name).disabled) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")})
    yield
    root.handlers[:], level, loggers = saved[0], saved[1], saved[2]
    root.setLevel(level)
    for name, (handlers, propagate, disabled) in loggers.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate, logger.disabled = handlers, propagate, disabled


async def test_after_every_flow_no_card_number_is_in_any_table_log_or_output(http, db, shop, fake, capfd,
                                                                             caplog, restored_logging):
    configure_logging("DEBUG")  # as `paygate serve` does, writing to the captured stderr
    logging.getLogger().addHandler(caplog.handler)  # behind the app's own handler, as any later one is
    caplog.set_level(logging.DEBUG)

    await run_every_flow(Client(http, shop), fake)

    out, err = capfd.readouterr()
    assert '"msg": "request"' in err, "the app's JSON log is not on stderr"
    leaks = [(table, row) for table, row in await every_stored_text(db) if card_numbers_in(row)]
    leaks += [("log record", line) for line in caplog.text.splitlines() if card_numbers_in(line)]
    leaks += [(stream, line) for stream, output in (("stdout", out), ("stderr", err))
              for line in output.splitlines() if card_numbers_in(line)]
    assert leaks == [], "\n".join(f"{where}: {what[:400]}" for where, what in leaks[:40])
