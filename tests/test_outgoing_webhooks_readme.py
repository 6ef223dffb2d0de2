"""The README's "Webhooks for merchants" section works as printed: its registration runs as an
admin over HTTP, and its verification function accepts a real delivery from paygate's job and
refuses a tampered one."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from db.uow import SqlUnitOfWork
from domain.outgoing_webhooks.delivery import deliver_due
from paygate.webhook_sender import HttpxWebhookSender
from tests.conftest import start_server, stop_server
from tests.graphql import gql
from tests.readme_examples import README
from tests.test_payment_mutations import _paid
from tests.webhook_receiver import Receiver


def section_blocks(language: str) -> list[str]:
    text = README.read_text()
    section = text.split("## Webhooks for merchants\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    server, task, url = await start_server(hook.app())
    hook.url = url
    yield hook
    await stop_server(server, task)


async def test_the_readme_registers_an_endpoint_and_its_verification_accepts_only_real_deliveries(
        client, shop, db, receiver):
    [register] = section_blocks("graphql")
    [verify_code] = section_blocks("python")
    namespace: dict = {}
    exec(compile(verify_code, "README.md", "exec"), namespace)
    verified_event = namespace["verified_event"]
    admin = shop.token("admin@example.com")

    printed = await gql(client, register, token=admin)
    ours = await gql(client, register.replace("https://shop.example/paygate-webhooks", receiver.url + "/hook"),
                     token=admin)
    secret = ours["data"]["webhookEndpointCreate"]["secret"]
    await _paid(client, shop)
    sender = HttpxWebhookSender(timeout_s=5)
    await deliver_due(lambda: SqlUnitOfWork(db), sender, datetime.now(UTC))
    await sender.close()
    got = next(r for r in receiver.received if r.type == "payment.succeeded")

    assert printed["data"]["webhookEndpointCreate"]["__typename"] == "WebhookEndpoint"
    assert verified_event(got.body, got.headers, secret)["type"] == "payment.succeeded"
    assert verified_event(got.body.replace(b'"succeeded"', b'"failed"'), got.headers, secret) is None
    other = printed["data"]["webhookEndpointCreate"]["secret"]
    assert verified_event(got.body, got.headers, other) is None
