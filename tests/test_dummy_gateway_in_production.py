"""The dummy gateway takes test cards and moves no money: production offers it only when an
operator sets PAYGATE_DUMMY_GATEWAY=on, and every surface agrees with the registry."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from paygate.app import create_app
from paygate.providers import build_providers
from paygate.settings import Settings
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_payment_mutations import PAY, _checked_out

PRODUCTION_SECRET = "a-production-secret-long-enough-for-hs256"
CUSTOMER = "customer@example.com"
METHODS = "{ paymentMethods { id } }"


@pytest.mark.parametrize(("env", "dummy_gateway", "offered"), [
    ("development", None, True),
    ("test", None, True),
    ("production", None, False),
    ("production", "on", True),
    ("production", "off", False),
    ("development", "off", False),
])
def test_the_dummy_gateway_is_offered_outside_production_and_in_production_only_when_on(
        shared_db, env, dummy_gateway, offered):
    settings = Settings(_env_file=None, env=env, secret_key=PRODUCTION_SECRET, dummy_gateway=dummy_gateway)

    assert ("dummy" in build_providers(settings, shared_db)) is offered


def test_a_dummy_gateway_setting_other_than_on_or_off_is_refused():
    with pytest.raises(ValueError, match="dummy_gateway"):
        Settings(_env_file=None, dummy_gateway="yes")


@contextlib.asynccontextmanager
async def production(database_url: str, db, **settings) -> AsyncIterator[httpx.AsyncClient]:
    # settings_for keeps the test secret, which the shop's tokens are signed with.
    app = create_app(settings_for(database_url, env="production", **settings), db=db)
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await stop_server(server, task)


async def test_production_takes_no_test_card_on_any_surface(database_url, shared_db, db, shop):
    customer = {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}

    async with production(database_url, shared_db) as http:
        order = await _checked_out(http, shop, quantity=1)
        paid = await gql(http, PAY, {"order": order["id"], "number": "4242424242424242"},
                         token=shop.token(CUSTOMER))
        methods = await gql(http, METHODS, token=shop.token(CUSTOMER))
        configurations = await http.get("/api/payment/configurations/", headers=customer)
        intent = await http.post("/api/payment/create-intent/", json={"order_id": 1, "gateway": "dummy"},
                                 headers=customer)
        three_d_secure = await http.post("/dummy/3ds/pi_dummy_x", json={"authenticated": True})

    assert paid["data"]["processPayment"]["__typename"] == "NotFound"
    assert methods["data"]["paymentMethods"] == []
    assert configurations.json() == []
    assert intent.status_code == 400 and "'dummy' is not an active gateway" in intent.text
    assert three_d_secure.status_code == 404


async def test_production_with_the_dummy_gateway_on_offers_it_everywhere(database_url, shared_db, db, shop):
    customer = {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}

    async with production(database_url, shared_db, dummy_gateway="on") as http:
        order = await _checked_out(http, shop, quantity=1)
        paid = await gql(http, PAY, {"order": order["id"], "number": "4242424242424242"},
                         token=shop.token(CUSTOMER))
        methods = await gql(http, METHODS, token=shop.token(CUSTOMER))
        configurations = await http.get("/api/payment/configurations/", headers=customer)

    assert paid["data"]["processPayment"]["status"] == "SUCCEEDED"
    assert methods["data"]["paymentMethods"] == [{"id": "dummy"}]
    assert [c["gateway"] for c in configurations.json()] == ["dummy"]
