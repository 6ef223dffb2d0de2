"""Bearer tokens: who may call, and what an untrusted token gets."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.identity import Role
from paygate.auth import AuthError, TokenCodec, bearer_token
from tests.graphql import gql

SECRET = "unit-test-secret-of-at-least-32-bytes"
ME = "{ me { email roles legacyId } }"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_a_token_issued_here_verifies_to_its_user_and_roles():
    codec = TokenCodec(SECRET)

    actor = codec.verify(codec.issue(7, "a@example.com", ["seller", "customer"]))

    assert (actor.user_id, actor.email, actor.roles) == (7, "a@example.com", {Role.SELLER, Role.CUSTOMER})


@pytest.mark.parametrize("make_token", [
    lambda c: c.issue(1, "a@example.com", ["customer"], ttl=timedelta(seconds=-1)),
    lambda c: TokenCodec("another-secret-" + SECRET).issue(1, "a@example.com", ["admin"]),
    lambda c: c.issue(1, "a@example.com", ["customer"])[:-3] + "abc",
    lambda c: "not-a-jwt",
    lambda c: jwt.encode({"sub": "1", "roles": ["admin"]}, SECRET, algorithm="HS256"),  # no exp
    lambda c: jwt.encode({"sub": "x", "exp": 9999999999}, SECRET, algorithm="HS256"),
], ids=["expired", "wrong-key", "tampered", "garbage", "no-expiry", "non-integer-subject"])
def test_an_untrustworthy_token_is_refused(make_token):
    codec = TokenCodec(SECRET)

    with pytest.raises(AuthError):
        codec.verify(make_token(codec))


def test_rs256_tokens_from_the_identity_provider_are_accepted_when_a_public_key_is_set():
    private, public = _rsa_pair()
    token = jwt.encode({"sub": "42", "email": "idp@example.com", "roles": ["staff"], "exp": 9999999999},
                       private, algorithm="RS256")

    actor = TokenCodec(SECRET, public).verify(token)

    assert actor.user_id == 42 and actor.is_staff
    with pytest.raises(AuthError):
        TokenCodec(SECRET).verify(token)


def test_the_public_key_cannot_be_used_as_an_hs256_secret():
    _, public = _rsa_pair()
    segments = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
                for part in ({"alg": "HS256", "typ": "JWT"}, {"sub": "1", "roles": ["admin"], "exp": 9999999999})]
    signing_input = b".".join(segments)
    signature = base64.urlsafe_b64encode(hmac.new(public.encode(), signing_input, hashlib.sha256).digest())
    forged = (signing_input + b"." + signature.rstrip(b"=")).decode()

    with pytest.raises(AuthError):
        TokenCodec(SECRET, public).verify(forged)


def test_unknown_roles_in_a_token_are_dropped():
    codec = TokenCodec(SECRET)

    actor = codec.verify(codec.issue(1, None, ["customer", "superuser"]))

    assert actor.roles == {Role.CUSTOMER}


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Token x"])
def test_an_authorization_header_that_is_not_bearer_is_refused(header):
    with pytest.raises(AuthError):
        bearer_token(header)


async def test_without_a_token_me_answers_401_with_an_unauthenticated_error(client, shop):
    body = await gql(client, ME, expect_status=401)

    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_answers_401_and_runs_nothing(client, shop):
    response = await client.post("/graphql", json={"query": ME}, headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in response.json()


async def test_a_valid_token_answers_the_callers_own_record(client, shop):
    body = await gql(client, ME, token=shop.token("customer@example.com"))

    assert body == {"data": {"me": {"email": "customer@example.com", "roles": ["customer"],
                                    "legacyId": shop.id_of("customer@example.com")}}}


async def test_a_valid_token_without_the_role_answers_403(client, shop):
    body = await gql(client, "{ cart { itemCount } }", token=shop.token("seller@example.com"), expect_status=403)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_user_known_only_to_the_identity_provider_can_shop(database_url, shared_db, db, shop):
    from paygate.app import create_app
    from tests.conftest import settings_for, start_server, stop_server
    from tests.graphql import gql

    private, public = _rsa_pair()
    token = jwt.encode({"sub": "4242", "email": "idp-user@example.com", "roles": ["customer"],
                        "exp": 9999999999}, private, algorithm="RS256")
    server, task, url = await start_server(create_app(settings_for(database_url, jwt_public_key=public),
                                                      db=shared_db))
    try:
        import httpx

        async with httpx.AsyncClient(base_url=url) as http:
            products = await gql(http, "{ products(first: 1) { edges { node { id } } } }")
            product = products["data"]["products"]["edges"][0]["node"]["id"]
            body = await gql(http, "mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) "
                                   "{ __typename } }", {"p": product}, token=token)
            me = await gql(http, "{ me { email legacyId } }", token=token)
    finally:
        await stop_server(server, task)

    assert body["data"]["cartSetItem"]["__typename"] == "Cart"
    assert me["data"]["me"] == {"email": "idp-user@example.com", "legacyId": 4242}


async def test_a_user_made_here_after_a_mirrored_one_gets_a_fresh_id(db, shop):
    from db.tables import UserRow
    from db.users import UserMirror
    from domain.identity import Actor, Role

    taken = max(shop.id_of(e) for e in ("customer@example.com", "admin@example.com")) + 5
    await UserMirror(db).ensure(Actor(taken, "mirrored@example.com", frozenset({Role.CUSTOMER})))
    await UserMirror(db).ensure(Actor(taken + 1, "mirrored2@example.com", frozenset({Role.CUSTOMER})))

    async with db.write_sessions() as session, session.begin():  # as `paygate demo` adds users
        local = [UserRow(email=f"local{i}@example.com", name="local", roles="customer") for i in range(8)]
        session.add_all(local)

    assert all(row.id not in (taken, taken + 1) for row in local)
    assert len({row.id for row in local}) == 8
