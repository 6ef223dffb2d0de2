"""A small GraphQL client over real HTTP, and the demo shop as test data."""
from __future__ import annotations

import httpx

from db.engine import Database
from paygate.auth import TokenCodec
from paygate.demo import load_demo


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *,
              token: str | None = None, expect_status: int = 200, headers: dict | None = None) -> dict:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
    assert response.status_code == expect_status, response.text
    return response.json()


class Shop:
    """The demo shop loaded into a test database, with a token per demo user."""

    def __init__(self, users: dict, tokens: TokenCodec) -> None:
        self.users = users
        self._tokens = tokens

    def id_of(self, email: str) -> int:
        return self.users[email].id

    def token(self, email: str, *roles: str) -> str:
        user = self.users[email]
        return self._tokens.issue(user.id, email, list(roles) or user.roles.split())


async def load_shop(db: Database, tokens: TokenCodec) -> Shop:
    users, _ = await load_demo(db)
    return Shop(users, tokens)
