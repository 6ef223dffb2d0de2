"""`paygate serve --workers 2` with OTEL_EXPORTER_OTLP_ENDPOINT set exports its traces by OTLP/HTTP
to a receiver on loopback (a plain HTTP server decoding OpenTelemetry's protobuf), and the log
line of a request names the trace the receiver got."""
from __future__ import annotations

import gzip
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.test_serve import Serving, _logged, _paygate, serve


class Receiver:
    """What an OpenTelemetry collector's OTLP/HTTP receiver takes at POST /v1/traces."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                ok = self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
                if ok:
                    received.append(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, str, dict]]:
        """(trace id, span name, resource attributes) of everything received."""
        found = []
        for request in list(self.requests):
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    found += [(span.trace_id.hex(), span.name, resource) for span in scope_spans.spans]
        return found


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def exporting(tmp_path_factory, receiver) -> Iterator[tuple[Serving, str]]:
    db_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('otlp-db') / 'paygate.db'}"
    _paygate(db_url, "migrate")
    _paygate(db_url, "demo")
    token = _paygate(db_url, "token", "customer@example.com", "--role", "customer").strip()
    yield from ((serving, token) for serving in serve(
        db_url, tmp_path_factory.mktemp("otlp-serve"), OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_SERVICE_NAME="paygate-under-test", OTEL_BSP_SCHEDULE_DELAY="100"))


def test_a_served_request_is_exported_by_otlp_and_its_log_line_names_the_trace(exporting, receiver):
    serving, token = exporting
    request_id = f"otlp-{uuid.uuid4().hex[:12]}"

    response = httpx.post(serving.url + "/graphql", json={"query": "query Me { me { email } }"},
                          headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id})

    assert response.json() == {"data": {"me": {"email": "customer@example.com"}}}
    [line] = [line for line in _logged(serving, request_id) if line["msg"] == "request"]
    deadline = time.monotonic() + 15
    while not {name for trace_id, name, _ in receiver.spans() if trace_id == line["trace_id"]} >= {
            "POST /graphql", "GraphQL Query: Me"}:
        assert time.monotonic() < deadline, receiver.spans()
        time.sleep(0.1)
    traced = [(name, resource) for trace_id, name, resource in receiver.spans() if trace_id == line["trace_id"]]
    assert {resource["service.name"] for _, resource in traced} == {"paygate-under-test"}
    assert [name for name, _ in traced if name.startswith(("SELECT", "INSERT", "UPDATE", "connect"))]
