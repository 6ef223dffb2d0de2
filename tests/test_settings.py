"""Settings from the environment, and what production refuses or turns off."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from paygate.app import create_app
from paygate.settings import DEVELOPMENT_SECRET, Settings, env_name
from tests.conftest import start_server, stop_server


def test_settings_are_read_from_paygate_prefixed_environment(monkeypatch):
    monkeypatch.setenv("PAYGATE_HOLD_DAYS", "14")
    monkeypatch.setenv("PAYGATE_DEFAULT_CURRENCY", "EUR")

    settings = Settings()

    assert (settings.hold_days, settings.default_currency) == (14, "EUR")


def test_production_refuses_to_start_with_the_development_secret():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env="production", secret_key=DEVELOPMENT_SECRET)


async def test_production_serves_no_graphiql_and_no_introspection(database_url, shared_db, db):
    settings = Settings(env="production", secret_key="a-real-production-secret-of-enough-length",
                        database_url=database_url)
    server, task, url = await start_server(create_app(settings, db=shared_db))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            introspection = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
            ordinary = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
    finally:
        await stop_server(server, task)

    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert introspection.json().get("data") is None
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert ordinary.json() == {"data": {"products": {"totalCount": 0}}}


async def test_development_serves_graphiql(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_a_known_setting_set_without_its_prefix_is_warned_about_by_its_real_name(caplog):
    environ = {"STRIPE_API_KEY": "sk_test_x", "rate_limit": "off", "PATH": "/usr/bin", "HOME": "/root"}

    with caplog.at_level("WARNING", logger="paygate.settings"):
        Settings(_env_file=None, secret_key="a-real-secret-of-enough-length").warn_about_defaults(environ)

    assert sorted(r.getMessage() for r in caplog.records) == [
        "STRIPE_API_KEY is set but not read: paygate reads PAYGATE_STRIPE_API_KEY",
        "rate_limit is set but not read: paygate reads PAYGATE_RATE_LIMIT"]


def test_a_bare_name_beside_its_prefixed_variable_is_not_warned_about(caplog):
    environ = {"DATABASE_URL": "postgres://someone-elses", "PAYGATE_DATABASE_URL": "sqlite+aiosqlite:///x.db"}

    with caplog.at_level("WARNING", logger="paygate.settings"):
        Settings(_env_file=None, secret_key="a-real-secret-of-enough-length").warn_about_defaults(environ)

    assert caplog.records == []


async def test_the_app_warns_at_start_up_about_an_unprefixed_setting(database_url, shared_db, monkeypatch, caplog):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_forgotten_prefix")
    settings = Settings(_env_file=None, env="test", secret_key="a-real-secret-of-enough-length",
                        database_url=database_url)

    with caplog.at_level("WARNING", logger="paygate.settings"):
        server, task, _ = await start_server(create_app(settings, db=shared_db))
        await stop_server(server, task)

    assert "STRIPE_WEBHOOK_SECRET is set but not read: paygate reads PAYGATE_STRIPE_WEBHOOK_SECRET" in [
        r.getMessage() for r in caplog.records]


def test_the_readme_names_every_setting_by_the_variable_paygate_reads():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    bare = re.compile(r"`(" + "|".join(name.upper() for name in Settings.model_fields) + r")[`=]")

    assert [env_name(name) for name in Settings.model_fields if f"`{env_name(name)}`" not in readme] == []
    # The only bare names are the examples of what start-up warns about (Settings, Operating paygate).
    assert bare.findall(readme) == ["STRIPE_API_KEY"] * 2
