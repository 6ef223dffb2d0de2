"""Prometheus metrics (GET /metrics): requests by route template, method and status, and their
durations. Labels use the route's template (`/api/payment/transactions/{transaction_id}/`),
never the raw path, so a client can't create unbounded label values.

With several uvicorn workers each process counts its own; scrape each, or set
PROMETHEUS_MULTIPROC_DIR as prometheus_client documents.
"""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("paygate_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
DURATION = Histogram("paygate_http_request_duration_seconds", "Time to answer an HTTP request.",
                     ["method", "route"],
                     buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))

# The marketplace's reconciliation (paygate/worker.py `reconcile-sellers`): a seller's balance at
# the provider differs from our ledger's. Any increase wants a human.
SELLER_DIFFERENCES = Counter("paygate_seller_balance_differences_total",
                             "Connected accounts whose provider balance differed from the ledger.", ["currency"])


def observe(scope, status: int, duration_s: float) -> None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # A seed's routes live under its API's mount, whose prefix Starlette leaves in root_path.
    template = scope.get("root_path", "") + path if path else "unmatched"
    method = scope.get("method", "GET")
    REQUESTS.labels(method, template, str(status)).inc()
    DURATION.labels(method, template).observe(duration_s)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
