"""`paygate serve --workers 2`: one scrape of the port counts what every worker process answered
(prometheus_client's multiprocess mode, set up by the CLI)."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.test_metrics import samples, value
from tests.test_serve import ROOT, Serving, _env, _paygate, serve
from tests.test_serve import _free_port as free_port


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


def test_a_worker_serves_its_own_metrics_on_the_port_it_is_given(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'paygate.db'}"
    _paygate(url, "migrate")
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "paygate.cli", "worker", "--metrics-port", str(port)], cwd=ROOT, env=_env(url),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scraped = samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
                break
            except httpx.TransportError:
                assert worker.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(15)

    assert [labels for name, labels in scraped if name == "paygate_process_start_time_seconds"]
    assert ("paygate_db_pool_connections_in_use", frozenset()) in scraped
