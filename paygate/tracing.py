"""OpenTelemetry traces: each HTTP request (ASGI), its GraphQL operation (Strawberry's extension),
its SQL statements (SQLAlchemy) and its calls to providers (httpx), one trace a request.

Exported by OTLP over HTTP when OpenTelemetry's own variables say where:
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), with OTEL_SERVICE_NAME
(default "paygate"), OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER,
OTEL_BSP_* and OTEL_SDK_DISABLED read as OpenTelemetry defines them (no PAYGATE_ prefix). Unset,
nothing is recorded and the instrumentation costs next to nothing. Log lines carry the trace id
(paygate/logs.py) beside the request id, so a log line leads to its trace and back.

What spans never carry: card numbers. The GraphQL document is masked (domain/text.py) and
resolvers' arguments are not recorded at all; SQL statements are recorded without their
parameters (SQLAlchemy's instrumentation never records them); httpx spans carry the URL, and no
provider puts card data in one.
"""
from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

from domain.text import redact_card_numbers

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporting() -> bool:
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return not disabled and any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


_configured: TracerProvider | None = None


def tracer_provider_from_environment() -> TracerProvider | None:
    """The process's provider, exporting by OTLP/HTTP, when an endpoint is set (else None). Made
    once a process: every uvicorn worker process makes its own, after it starts."""
    global _configured
    if _configured is None and exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        service = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "paygate"}
        _configured = TracerProvider(resource=Resource.create(service))
        _configured.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_configured)
    return _configured


def instrument_engine(engine, provider: TracerProvider) -> None:
    """Spans for the statements of this one engine. `SQLAlchemyInstrumentor().instrument` would
    also patch `create_engine` for the whole process, and acts only once a process; its
    `EngineTracer` is what it attaches to an engine, and all we need."""
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__, provider)
    usage = get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
        "db.client.connections.usage", unit="connections")
    EngineTracer(tracer, engine.sync_engine, usage)


def instrument_httpx(provider: TracerProvider) -> None:
    """Every httpx client of the process (providers' SDKs included): httpx offers no other hook
    for clients that an SDK makes itself."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


# Probes and scrapes every few seconds would be most of the traces and tell nothing.
DEFAULT_EXCLUDED_URLS = "/healthz$,/readyz$,/metrics$"
EXCLUDED_URLS_VARIABLES = ("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")


def asgi_middleware(provider: TracerProvider):
    """The outermost layer: the request's span is current for everything inside, logs included.
    URLs matching OTEL_PYTHON_EXCLUDED_URLS (comma-separated regular expressions, OpenTelemetry's
    variable) get no trace; unset, the probes and /metrics."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.util.http import get_excluded_urls, parse_excluded_urls
    from starlette.middleware import Middleware

    configured = any(os.environ.get(name) for name in EXCLUDED_URLS_VARIABLES)
    excluded = get_excluded_urls("ASGI") if configured else parse_excluded_urls(DEFAULT_EXCLUDED_URLS)
    return Middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls=excluded)


def name_request_span(scope, template: str) -> None:
    """The server span is named by the route template once routing has found it (the ASGI
    middleware only knows the raw path, outside the router). Called as the response starts:
    the ASGI middleware ends its span with the response's last message."""
    span = trace.get_current_span()
    if span.is_recording():
        method = scope.get("method", "")
        span.update_name(f"{method} {template}")
        span.set_attribute("http.route", template)


class GraphQLTracing(OpenTelemetryExtension):
    """Strawberry's extension: a span for the operation (named by it), its parsing and validation.

    Two changes: the document is recorded masked (a client may inline a card number), and no
    span a field (the default records every resolver's arguments, card inputs included, and
    costs a span per field); the operation's span is current while it runs instead, so the SQL
    and provider calls it makes are its children.
    """

    def on_operation(self) -> Generator[None, None, None]:
        steps = super().on_operation()
        next(steps)
        span = self._span_holder[LifecycleStep.OPERATION]
        span.set_attribute("query", redact_card_numbers(self.execution_context.query or ""))
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            context.detach(token)
            name = self.execution_context.operation_name
            if name:
                span.set_attribute("graphql.operation.name", name)
            next(steps, None)

    resolve = SchemaExtension.resolve  # type: ignore[assignment]


def graphql_tracing(provider: TracerProvider) -> Any:
    return lambda: GraphQLTracing(tracer_provider=provider)
