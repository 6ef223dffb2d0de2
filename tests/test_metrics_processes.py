"""`paygate serve --workers 2`: one scrape of the port counts what every worker process answered
(prometheus_client's multiprocess mode, set up by the CLI)."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.test_metrics import samples, value
from tests.test_serve import Serving, _paygate, serve


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> Iterator[Serving]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('metrics-db') / 'paygate.db'}"
    _paygate(url, "migrate")
    yield from serve(url, tmp_path_factory.mktemp("metrics-serve"))


def test_every_scrape_counts_the_requests_of_both_worker_processes(two_workers):
    def healthz(scraped: dict) -> float:
        return value(scraped, "paygate_http_requests_total", method="GET", route="/healthz", status="200")

    before = healthz(samples(httpx.get(two_workers.url + "/metrics").text))  # the start-up polled it
    # A fresh connection each time, so both workers answer some requests and some scrapes.
    for _ in range(16):
        assert httpx.get(two_workers.url + "/healthz").status_code == 200

    scrapes = [samples(httpx.get(two_workers.url + "/metrics").text) for _ in range(6)]

    assert [healthz(s) - before for s in scrapes] == [16.0] * 6
    pids = {dict(labels)["pid"] for s in scrapes for name, labels in s if name == "paygate_process_start_time_seconds"}
    assert len(pids) == 2, pids
