"""An admin manages merchants' webhooks through GraphQL over real HTTP; the worker's
`deliver-webhooks` job sends to a receiver on loopback that verifies with `standardwebhooks`."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from paygate.bootstrap import build_services, close_services
from paygate.worker import JOBS, run_once
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_payment_mutations import _paid
from tests.webhook_receiver import Receiver

ENDPOINT_FIELDS = "id legacyId url eventTypes enabled disabledReason secret previousSecretExpiresAt description"
CREATE = """mutation($url: String!, $types: [String!]!) {
  webhookEndpointCreate(input: {url: $url, eventTypes: $types, description: "shop backend"}) {
    __typename ... on WebhookEndpoint { %s } ... on ValidationError { field message } ... on Error { code }
  }
}""".replace("%s", ENDPOINT_FIELDS)
DELIVERIES = """query($e: ID) { webhookDeliveries(endpointId: $e) { totalCount edges { node {
  id eventId eventType objectType objectId status attemptCount payload
  attempts { statusCode error durationMs } } } } }"""
ONE_ID = "mutation($id: ID!) {{ {}(input: {{id: $id}}) {{ __typename ... on {} {{ {} }} ... on Error {{ code message }} }} }}"
DELIVER = tuple(job for job in JOBS if job.name == "deliver-webhooks")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    server, task, url = await start_server(hook.app())
    hook.url = url
    yield hook
    await stop_server(server, task)


@pytest.fixture
async def worker(database_url, db) -> AsyncIterator:
    services = build_services(settings_for(database_url), db)
    yield lambda: run_once(db, services, jobs=DELIVER)
    await close_services(services)


async def created(client, shop, receiver, *types: str) -> dict:
    body = await gql(client, CREATE, {"url": receiver.url + "/hook", "types": list(types)},
                     token=shop.token("admin@example.com"))
    endpoint = body["data"]["webhookEndpointCreate"]
    assert endpoint["__typename"] == "WebhookEndpoint", body
    receiver.secrets.append(endpoint["secret"])
    return endpoint


async def test_an_admin_registers_an_endpoint_and_the_worker_delivers_a_signed_payment_event(
        client, shop, receiver, worker):
    admin = shop.token("admin@example.com")
    endpoint = await created(client, shop, receiver, "payment.succeeded", "order.paid")

    _, payment = await _paid(client, shop)
    done = await worker()
    deliveries = await gql(client, DELIVERIES, {"e": endpoint["id"]}, token=admin)

    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"]
    assert done == {"deliver-webhooks": 2}
    assert sorted(receiver.types()) == ["order.paid", "payment.succeeded"]
    assert all(r.verified_by == (endpoint["secret"],) for r in receiver.received)
    page = deliveries["data"]["webhookDeliveries"]
    assert page["totalCount"] == 2
    by_type = {e["node"]["eventType"]: e["node"] for e in page["edges"]}
    assert by_type["payment.succeeded"]["status"] == "SUCCEEDED"
    assert by_type["payment.succeeded"]["attempts"] == [{"statusCode": 204, "error": None,
                                                         "durationMs": by_type["payment.succeeded"]["attempts"][0]
                                                         ["durationMs"]}]
    assert {r.msg_id for r in receiver.received} == {n["eventId"] for n in by_type.values()}
    assert payment["number"] in by_type["payment.succeeded"]["payload"]


async def test_an_admin_retries_a_delivery_rotates_the_secret_updates_disables_and_deletes(
        client, shop, receiver, worker):
    admin = shop.token("admin@example.com")
    endpoint = await created(client, shop, receiver, "payment.succeeded")
    await _paid(client, shop)
    await worker()
    [edge] = (await gql(client, DELIVERIES, {"e": endpoint["id"]}, token=admin))["data"]["webhookDeliveries"]["edges"]

    retried = await gql(client, ONE_ID.format("webhookDeliveryRetry", "WebhookDelivery", "status attemptCount"),
                        {"id": edge["node"]["id"]}, token=admin)
    await worker()
    rotated = await gql(client, ONE_ID.format("webhookEndpointRotateSecret", "WebhookEndpoint", ENDPOINT_FIELDS),
                        {"id": endpoint["id"]}, token=admin)
    updated = await gql(client, """mutation($id: ID!) { webhookEndpointUpdate(input: {id: $id,
                          eventTypes: ["refund.succeeded", "payment.succeeded"]}) {
                          ... on WebhookEndpoint { eventTypes url } } }""", {"id": endpoint["id"]}, token=admin)
    disabled = await gql(client, ONE_ID.format("webhookEndpointDisable", "WebhookEndpoint", ENDPOINT_FIELDS),
                         {"id": endpoint["id"]}, token=admin)
    enabled = await gql(client, ONE_ID.format("webhookEndpointEnable", "WebhookEndpoint", ENDPOINT_FIELDS),
                        {"id": endpoint["id"]}, token=admin)
    deleted = await gql(client, ONE_ID.format("webhookEndpointDelete", "WebhookEndpoint", "id"),
                        {"id": endpoint["id"]}, token=admin)
    left = await gql(client, "{ webhookEndpoints { totalCount } webhookDeliveries { totalCount } }", token=admin)

    assert retried["data"]["webhookDeliveryRetry"] == {"__typename": "WebhookDelivery", "status": "PENDING",
                                                        "attemptCount": 0}
    assert [r.msg_id for r in receiver.received] == [edge["node"]["eventId"]] * 2
    new = rotated["data"]["webhookEndpointRotateSecret"]
    assert new["secret"] != endpoint["secret"] and new["previousSecretExpiresAt"] is not None
    assert updated["data"]["webhookEndpointUpdate"]["eventTypes"] == ["payment.succeeded", "refund.succeeded"]
    assert disabled["data"]["webhookEndpointDisable"]["enabled"] is False
    assert disabled["data"]["webhookEndpointDisable"]["disabledReason"] == "disabled by an admin"
    assert enabled["data"]["webhookEndpointEnable"]["enabled"] is True
    assert deleted["data"]["webhookEndpointDelete"]["__typename"] == "WebhookEndpoint"
    assert left["data"] == {"webhookEndpoints": {"totalCount": 0}, "webhookDeliveries": {"totalCount": 0}}


@pytest.mark.parametrize(("url", "types", "field"), [
    ("ftp://example.com/hook", ["payment.succeeded"], "url"),
    ("file:///etc/passwd", ["payment.succeeded"], "url"),
    ("javascript:alert(1)", ["payment.succeeded"], "url"),
    ("https://user:pw@example.com/hook", ["payment.succeeded"], "url"),
    ("https://example.com:99999/hook", ["payment.succeeded"], "url"),
    ("https:///no-host", ["payment.succeeded"], "url"),
    ("https://example.com/hook?card=4242424242424242", ["payment.succeeded"], "url"),
    ("https://example.com/hook", ["payment.exploded"], "eventTypes"),
    ("https://example.com/hook", [], "eventTypes"),
])
async def test_an_endpoint_that_is_not_http_or_names_unknown_events_is_refused_and_nothing_is_written(
        client, shop, url, types, field):
    admin = shop.token("admin@example.com")

    body = await gql(client, CREATE, {"url": url, "types": types}, token=admin)
    listed = await gql(client, "{ webhookEndpoints { totalCount } }", token=admin)

    assert body["data"]["webhookEndpointCreate"]["__typename"] == "ValidationError"
    assert body["data"]["webhookEndpointCreate"]["field"] == field
    assert listed["data"]["webhookEndpoints"]["totalCount"] == 0


async def test_only_admins_manage_or_see_endpoints(client, shop, receiver):
    endpoint = await created(client, shop, receiver, "payment.succeeded")

    for email in ("customer@example.com", "seller@example.com", "staff@example.com"):
        token = shop.token(email)
        made = await gql(client, CREATE, {"url": "https://example.com/h", "types": ["order.paid"]}, token=token)
        listed = await gql(client, "{ webhookEndpoints { totalCount } }", token=token, expect_status=403)
        node = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": endpoint["id"]}, token=token)

        assert made["data"]["webhookEndpointCreate"] == {"__typename": "NotAllowed", "code": "not_allowed"}
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert node["data"]["node"] is None


async def test_the_event_types_an_endpoint_may_want_are_listed(client):
    body = await gql(client, "{ webhookEventTypes }")

    types = body["data"]["webhookEventTypes"]
    assert {"payment.succeeded", "payment.failed", "payment.requires_action", "payment.canceled",
            "refund.succeeded", "refund_request.created", "order.paid"} <= set(types)
