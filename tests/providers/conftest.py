"""The providers' servers: localstripe (a separate process) and tests/fake_stripe.py, one of each
per test session on loopback, and a Stripe provider pointed at either, with its retry sleeps
recorded instead of slept."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from providers.stripe import RetryPolicy, StripeProvider
from tests.conftest import start_server, stop_server
from tests.fake_stripe import FakeStripe

ROOT = Path(__file__).resolve().parents[2]


class Sleeps(list):
    """The retry policy's sleeps, recorded instead of slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def provider_at(base: str, sleeps: Sleeps | None = None, api_key: str = "sk_test_paygate") -> StripeProvider:
    return StripeProvider(api_key, api_base=base, retry=RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url():
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "localstripe_server.py"), str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:  # localstripe's JS shim: served once it is up, with no side effects
            try:
                if httpx.get(f"{url}/js.stripe.com/v3/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"localstripe did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
async def localstripe(localstripe_url) -> StripeProvider:
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{localstripe_url}/_config/data")).raise_for_status()
    return provider_at(localstripe_url)


@pytest.fixture(scope="session")
async def fake_server():
    fake = FakeStripe()
    server, task, url = await start_server(fake.app)
    yield fake, url
    await stop_server(server, task)


@pytest.fixture
def fake(fake_server) -> FakeStripe:
    fake_server[0].reset()
    return fake_server[0]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def stripe(fake_server, fake, sleeps) -> StripeProvider:
    return provider_at(fake_server[1], sleeps)
