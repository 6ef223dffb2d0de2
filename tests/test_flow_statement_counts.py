"""What the buyer's flow costs the database: the SQL statements and the write transactions of
each mutation of `cartSetItem` + `checkout` + `processPayment` (the dummy gateway, a Visa card),
the flow bench/ measures (bench/queries.py), pinned exactly on each backend.

Counted over real HTTP on the test engine: statements with tests/conftest.py's StatementCounter
(BEGIN, COMMIT, ROLLBACK and PRAGMA left out; it hears the statements a write transaction sends
straight to asyncpg too, db/direct_statements.py, as the /metrics counter does), and beside them
the write transactions the engine began and committed. A statement added to the write path fails here; one taken away must be
taken away here too, so the figures stay the truth (issue 16: "a lean write path").
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import event

from db.engine import WRITE_OPTION
from tests.conftest import StatementCounter
from tests.graphql import gql

PRODUCTS = "{ products(first: 100) { edges { node { id sku } } } }"
SET_ITEM = """mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) {
  __typename ... on Cart { itemCount } ... on Error { code message } } }"""
CHECKOUT = """mutation { checkout { __typename
  ... on CheckoutSuccess { order { id number total { amount currency } } } ... on Error { code message } } }"""
PAY = """mutation($o: ID!) {
  processPayment(input: {orderId: $o, provider: "dummy",
                         card: {number: "4242 4242 4242 4242", expMonth: 12, expYear: 2034, cvc: "123"}}) {
    __typename ... on Payment { id number status } ... on Error { code message } } }"""


class FlowCounter(StatementCounter):
    """StatementCounter, plus the write transactions (BEGIN and COMMIT of write sessions)."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.transactions: Counter[str] = Counter()

    def _begin(self, conn) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            self.transactions["begin"] += 1

    def _commit(self, conn) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            self.transactions["commit"] += 1

    def __enter__(self) -> FlowCounter:
        self.transactions = Counter()
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        super().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._commit)

    def figures(self) -> tuple[int, int, int]:
        return self.count, self.transactions["begin"], self.transactions["commit"]


# (statements, write transactions begun, committed) of each mutation, on each backend.
# processPayment runs two write transactions: create the payment, screen it (domain/risk) and, when
# allowed, record its authorization attempt; then settle the answer. The dummy gateway's record of
# a new payment is one statement of its own, outside any transaction, on PostgreSQL
# (db/dummy_gateway.py; SQLite: a read and an upsert in a transaction).
# PostgreSQL sends the writes nobody needs an answer from together, as data-modifying CTEs of one
# statement or of the next statement that answers something (db/write_batch.py: audit rows, events,
# emails, order lines, reservations, the cart cleared, the settled payment's, order's and attempt's
# UPDATEs, stock taken), appends a ledger entry with its postings in one statement, and locks a
# payment with its order in one; SQLite has no DML in CTEs and runs each on its own. PostgreSQL:
#   checkout        products locked; their reservations; INSERT order; the batch
#   processPayment  create: order locked; its payments; INSERT payment; INSERT attempt (carrying
#                   the risk assessment and the creation's and the screening's audit; the payment
#                   row needs no UPDATE: the attempt starts at its creation's moment, and starting
#                   it changes nothing else of the row)
#                   gateway: one INSERT … ON CONFLICT claiming the idempotency key
#                   settle: payment + order locked; attempts; ledger entry + postings (carrying
#                   reservations -> stock); the batch (the holds, dated from the deliveries in
#                   their INSERT … SELECT, the email, the UPDATEs, audit, events)
PINNED = {
    "sqlite": {"cartSetItem": (2, 1, 1), "checkout": (7, 1, 1), "processPayment": (23, 3, 3)},
    "postgres": {"cartSetItem": (2, 1, 1), "checkout": (4, 1, 1), "processPayment": (9, 2, 2)},
}


async def _flow(client, shop, db, sku: str) -> tuple[dict[str, tuple[int, int, int]], list[str]]:
    token = shop.token("customer@example.com")
    products = await gql(client, PRODUCTS)
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == sku)
    # The first request with a token records its user (paygate/auth.py): not the flow's cost.
    await gql(client, "{ cart { itemCount } }", token=token)
    counter = FlowCounter(db)
    figures, statements = {}, []
    with counter:
        added = await gql(client, SET_ITEM, {"p": product}, token=token)
    figures["cartSetItem"], statements = counter.figures(), statements + counter.statements
    with counter:
        checked_out = await gql(client, CHECKOUT, token=token)
    figures["checkout"], statements = counter.figures(), statements + counter.statements
    with counter:
        paid = await gql(client, PAY, {"o": checked_out["data"]["checkout"]["order"]["id"]}, token=token)
    figures["processPayment"], statements = counter.figures(), statements + counter.statements

    assert added["data"]["cartSetItem"]["itemCount"] == 1, added
    assert paid["data"]["processPayment"]["status"] == "SUCCEEDED", paid
    return figures, statements


async def test_each_mutation_of_the_buyers_flow_costs_exactly_its_pinned_statements(client, shop, db):
    backend = "sqlite" if db.is_sqlite else "postgres"

    first, _ = await _flow(client, shop, db, "SAM-MUG-01")
    again, statements = await _flow(client, shop, db, "SAM-KNIFE-01")

    assert first == again  # a second flow costs what the first did
    listing = "\n".join(s.split("\n", 1)[0][:120] for s in statements)
    assert first == PINNED[backend], f"{backend}: {first}\n{listing}"
