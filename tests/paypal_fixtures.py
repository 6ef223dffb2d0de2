"""The fake PayPal served on loopback, and PayPal providers pointed at it, for any test module."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from providers.paypal import PayPalClient, PayPalProvider
from providers.retry import RetryPolicy
from tests.conftest import start_server, stop_server
from tests.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal

WEBHOOK_ID = "8PT597110X687430LKGECATA"


async def _no_sleep(_s: float) -> None:
    return None


FAST = RetryPolicy(tries=3, sleep=_no_sleep)


def paypal_client(url: str, **kwargs) -> PayPalClient:
    kwargs.setdefault("retry", FAST)
    return PayPalClient(CLIENT_ID, CLIENT_SECRET, api_base=url, **kwargs)


@pytest.fixture(scope="module")
async def fake_paypal_server() -> AsyncIterator[tuple[FakePayPal, str]]:
    fake = FakePayPal()
    server, task, url = await start_server(fake.app)
    fake.serve_at(url)
    yield fake, url
    await stop_server(server, task)


@pytest.fixture
def paypal(fake_paypal_server) -> FakePayPal:
    fake_paypal_server[0].reset()
    return fake_paypal_server[0]


@pytest.fixture
async def adapter(fake_paypal_server, paypal) -> AsyncIterator[PayPalProvider]:
    provider = PayPalProvider(paypal_client(fake_paypal_server[1]))
    yield provider
    await provider.close()
