"""OpenTelemetry traces, recorded by the real app under uvicorn into an in-memory exporter: one trace
a request, from the ASGI server span through the GraphQL operation to its SQL statements and its
calls to Stripe (the SDK's httpx, against tests/fake_stripe.py); the request's log line carries
the trace id; no span carries a card number.

The OTLP export itself, from `paygate serve` to a receiver on loopback, is in
tests/test_tracing_export.py.
"""
from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from paygate.app import create_app
from paygate.logs import JsonFormatter
from tests.conftest import (
    STRIPE_PUBLISHABLE_KEY,
    STRIPE_WEBHOOK_SECRET,
    settings_for,
    start_server,
    stop_server,
)
from tests.graphql import gql
from tests.test_stripe_webhooks import stripe_payment

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@dataclass
class Traced:
    url: str
    spans: InMemorySpanExporter
    lines: list[str]
    stripe: str  # the fake's address


class _Lines(logging.Handler):
    """The JSON lines paygate writes, as its stderr handler would format them."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
async def traced(database_url, fake_stripe) -> AsyncIterator[Traced]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    settings = settings_for(database_url, stripe_api_key="sk_test_paygate", stripe_api_base=fake_stripe[1],
                            stripe_webhook_secret=STRIPE_WEBHOOK_SECRET, stripe_publishable_key=STRIPE_PUBLISHABLE_KEY)
    lines: list[str] = []
    handler = _Lines(lines)
    http_log = logging.getLogger("paygate.http")
    level = http_log.level
    http_log.addHandler(handler)
    http_log.setLevel(logging.INFO)
    # Its own engine (instrumented for this app only), and httpx instrumented for the process.
    server, task, url = await start_server(create_app(settings, tracer_provider=provider))
    try:
        yield Traced(url, spans, lines, fake_stripe[1])
    finally:
        await stop_server(server, task)
        HTTPXClientInstrumentor().uninstrument()
        http_log.removeHandler(handler)
        http_log.setLevel(level)
        provider.shutdown()


@pytest.fixture
async def http(traced, db, fake_stripe) -> AsyncIterator[httpx.AsyncClient]:
    fake_stripe[0].reset()
    traced.spans.clear()
    async with httpx.AsyncClient(base_url=traced.url, timeout=30) as client:
        yield client


def _is_sql(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    return span.kind is SpanKind.CLIENT and bool(attributes.get("db.system") or attributes.get("db.system.name"))


def _descends_from(span: ReadableSpan, ancestor: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    by_id = {s.context.span_id: s for s in spans}
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


async def test_a_graphql_request_is_one_trace_from_the_server_through_the_operation_to_its_sql(traced, http,
                                                                                              shop):
    response = await http.post("/graphql", json={"query": "query WhoAmI { me { email } }"},
                               headers={"Authorization": f"Bearer {shop.token('customer@example.com')}",
                                        "X-Request-Id": "trace-me-1"})

    assert response.status_code == 200
    spans = list(traced.spans.get_finished_spans())
    [operation] = [s for s in spans if s.name == "GraphQL Query: WhoAmI"]
    server = next(s for s in spans if s.kind is SpanKind.SERVER and s.name == "POST /graphql"
                  and s.context.trace_id == operation.context.trace_id)
    sql = [s for s in spans if s.context.trace_id == operation.context.trace_id and _is_sql(s)]
    assert operation.parent is not None and _descends_from(operation, server, spans)
    # The caller's user is made known before the operation (AuthenticationMiddleware); `me` is
    # read inside it.
    assert sql and all(_descends_from(s, server, spans) for s in sql)
    assert [s for s in sql if _descends_from(s, operation, spans)]
    assert server.attributes["http.route"] == "/graphql"


async def test_a_payment_traces_its_call_to_stripe_and_no_span_carries_the_card_number(traced, http, db, shop):
    payment_id, intent = await stripe_payment(http, db, shop, "pm_card_visa")
    card = "4242424242424242"
    inline = ('mutation { processPayment(input: {orderId: "T3JkZXI6OTk5", card: {number: "' + card
              + '", expMonth: 12, expYear: 2034, cvc: "123"}}) { __typename } }')
    await gql(http, inline, token=shop.token("customer@example.com"))

    spans = list(traced.spans.get_finished_spans())
    to_stripe = [s for s in spans if s.kind is SpanKind.CLIENT and f"{traced.stripe}/v1/payment_intents"
                 in str(s.attributes)]
    [pay] = {s for s in spans if s.name.startswith("GraphQL Query")
             and "processPayment" in str((s.attributes or {}).get("query"))
             and s.context.trace_id in {c.context.trace_id for c in to_stripe}}
    assert to_stripe and all(_descends_from(s, pay, spans) for s in to_stripe)
    assert payment_id and intent
    everything = " ".join(f"{s.name} {dict(s.attributes or {})} {[e.attributes for e in s.events]}" for s in spans)
    assert card not in everything and "processPayment" in everything


async def test_the_request_log_line_carries_the_trace_id_beside_the_request_id(traced, http):
    await http.get("/openapi.json", headers={"X-Request-Id": "trace-log-1"})

    [line] = [json.loads(text) for text in traced.lines if '"trace-log-1"' in text]
    [server] = [s for s in traced.spans.get_finished_spans()
                if s.kind is SpanKind.SERVER and s.name == "GET /openapi.json"]
    assert line["request_id"] == "trace-log-1"
    assert line["trace_id"] == format(server.context.trace_id, "032x")


async def test_probes_and_scrapes_make_no_trace(traced, http):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await http.get(path)).status_code == 200

    assert [s.name for s in traced.spans.get_finished_spans() if s.kind is SpanKind.SERVER] == []
