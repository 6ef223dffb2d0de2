"""GraphiQL with no internet access: the page at GET /graphql names no other origin, and every script
and style it loads comes from paygate itself, byte for byte the pinned npm files (their sha384,
which the page also gives the browser to check)."""
from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import httpx

from paygate.app import create_app
from paygate.graphiql import ASSETS
from tests.conftest import settings_for, start_server, stop_server

HTML = {"Accept": "text/html"}


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []  # (tag, address, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attribute in ("src", "href"):
            if named.get(attribute):
                self.found.append((tag, named[attribute] or "", named.get("integrity")))


def references(page: str) -> list[tuple[str, str, str | None]]:
    parser = _References()
    parser.feed(page)
    return parser.found


def sha384(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


async def test_the_graphiql_page_references_only_its_own_origin(client):
    response = await client.get("/graphql", headers=HTML)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    found = references(response.text)
    assert "://" not in response.text  # no address of another origin anywhere, scripts included
    assert {address for tag, address, _ in found if tag in ("script", "link")} == {
        f"/graphiql/{asset.name}" for asset in ASSETS} | {"data:,"}
    assert all(integrity for _, address, integrity in found if address.startswith("/graphiql/"))


async def test_every_asset_is_served_as_pinned_compressed_or_not(client):
    page = (await client.get("/graphql", headers=HTML)).text
    pinned = {address: integrity for _, address, integrity in references(page) if address.startswith("/graphiql/")}

    for address, integrity in pinned.items():
        gzipped = await client.get(address, headers={"Accept-Encoding": "gzip"})
        plain = await client.get(address, headers={"Accept-Encoding": "identity"})

        assert (gzipped.status_code, plain.status_code) == (200, 200), address
        assert gzipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
        assert sha384(gzipped.content) == sha384(plain.content) == integrity, address
        kind = "text/css" if address.endswith(".css") else "text/javascript"
        assert plain.headers["content-type"].startswith(kind)
    assert len(pinned) == len(ASSETS)


async def test_an_unknown_asset_is_404(client):
    assert (await client.get("/graphiql/jquery.js")).status_code == 404


async def test_production_serves_neither_graphiql_nor_its_assets(database_url, shared_db):
    app = create_app(settings_for(database_url, env="production", secret_key="x" * 40), db=shared_db)
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/graphql", headers=HTML)
            asset = await http.get(f"/graphiql/{ASSETS[0].name}")
    finally:
        await stop_server(server, task)

    assert "graphiql" not in page.text.lower() and asset.status_code == 404
