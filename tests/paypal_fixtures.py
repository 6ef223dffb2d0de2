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


def paypal_providers(url: str, db, *, verification: str = "offline", webhook_id: str | None = WEBHOOK_ID):
    """The app's registry with PayPal against the fake: offline verification trusts the fake's own
    address for certificates (PayPal's hosts otherwise)."""
    from db.paypal_captures import SqlPayPalCaptures
    from domain.payments.provider import Providers
    from providers.paypal.webhooks import WebhookVerifier

    client = paypal_client(url)
    verifier = WebhookVerifier(client, webhook_id, mode=verification, cert_origins=(url,))
    return Providers([PayPalProvider(client, captures=SqlPayPalCaptures(db), webhooks=verifier)],
                     {"paypal": {"publishable_key": CLIENT_ID}})


@pytest.fixture(scope="module")
async def paypal_app(database_url, shared_db, fake_paypal_server) -> AsyncIterator[str]:
    """The app with PayPal (offline webhook verification) against the fake."""
    from paygate.app import create_app
    from tests.conftest import settings_for

    url = fake_paypal_server[1]
    settings = settings_for(database_url, paypal_client_id=CLIENT_ID, paypal_client_secret=CLIENT_SECRET,
                            paypal_webhook_id=WEBHOOK_ID, paypal_api_base=url)
    app = create_app(settings, db=shared_db, providers=paypal_providers(url, shared_db))
    server, task, app_url = await start_server(app)
    yield app_url
    await stop_server(server, task)


@pytest.fixture
async def pp_http(paypal_app, db, paypal) -> AsyncIterator:
    import httpx

    async with httpx.AsyncClient(base_url=paypal_app, timeout=30) as client:
        yield client
