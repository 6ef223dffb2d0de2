"""Merchants' webhooks end to end: real databases, the real sender over HTTP, and a receiver on
loopback that verifies each delivery with the `standardwebhooks` library, as a merchant would.

Time moves with the job's `now` (the retry schedule), never by patching; the signature's
timestamp is the wall clock's, as it must be for the receiver's tolerance check.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from db.outgoing_webhook_tables import OutgoingEventRow, WebhookDeliveryAttemptRow, WebhookDeliveryRow
from db.uow import SqlUnitOfWork
from domain.cards import CardInput
from domain.identity import Actor, Role
from domain.money import Money
from domain.orders.cancel import CancelOrder, cancel_order
from domain.orders.model import OrderStatus
from domain.outgoing_webhooks.delivery import (
    KEPT_FOR,
    MAX_ATTEMPTS,
    RETRY_WAITS,
    DeliveryStatus,
    deliver_due,
    purge_delivered,
    redeliver,
)
from domain.outgoing_webhooks.endpoints import (
    ROTATION_OVERLAP,
    CreateEndpoint,
    create_endpoint,
    delete_endpoint,
    rotate_endpoint_secret,
    set_endpoint_enabled,
)
from domain.outgoing_webhooks.events import new_event
from domain.payments.refund_requests import AskRefund, DecideRefund, decide_refund, request_refund
from domain.payments.service import PayOrder, pay_order
from paygate.webhook_sender import HttpxWebhookSender
from tests.conftest import start_server, stop_server
from tests.payments_fixtures import DECLINED, POLICY, VISA, customer, order_for, providers, staff
from tests.webhook_receiver import Receiver

THREE_D_SECURE = CardInput("4000 0025 0000 3155", 12, 2034, "123")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    server, task, url = await start_server(hook.app())
    hook.url = url
    yield hook
    await stop_server(server, task)


@pytest.fixture
async def sender() -> AsyncIterator[HttpxWebhookSender]:
    sender = HttpxWebhookSender(timeout_s=5)
    yield sender
    await sender.close()


def admin(shop) -> Actor:
    return Actor(shop.id_of("admin@example.com"), "admin@example.com", frozenset({Role.ADMIN}))


async def endpoint_for(db, shop, receiver: Receiver, *types: str):
    endpoint = await create_endpoint(CreateEndpoint(admin(shop), receiver.url + "/hook", types), SqlUnitOfWork(db))
    receiver.secrets.append(endpoint.secret)
    return endpoint


async def pay(db, shop, card=VISA, gateway=None):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    return order, await pay_order(PayOrder(customer(shop), order.id, "dummy", card=card), SqlUnitOfWork(db),
                                  gateway or providers(), POLICY)


def deliver(db, sender, now: datetime):
    return deliver_due(lambda: SqlUnitOfWork(db), sender, now)


async def deliveries(db) -> list[WebhookDeliveryRow]:
    async with db.write_sessions() as session:
        return list((await session.exec(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id))).all())


async def log_of(db, delivery_id: int) -> list[WebhookDeliveryAttemptRow]:
    async with db.write_sessions() as session:
        return list((await session.exec(select(WebhookDeliveryAttemptRow).where(
            WebhookDeliveryAttemptRow.delivery_id == delivery_id).order_by(WebhookDeliveryAttemptRow.id))).all())


async def test_a_payment_succeeding_is_delivered_once_signed_by_the_standard(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.succeeded")

    _, payment = await pay(db, shop)
    moved = await deliver(db, sender, datetime.now(UTC))
    again = await deliver(db, sender, datetime.now(UTC) + timedelta(days=4))

    assert (moved, again) == (1, 0)
    [got] = receiver.received
    assert got.type == "payment.succeeded" and got.verified_by == tuple(receiver.secrets)
    assert got.msg_id.startswith("evt_") and got.headers["webhook-signature"].startswith("v1,")
    assert got.data["id"] == payment.id and got.data["status"] == "succeeded"
    assert got.data["amount"] == {"amount": 1_499, "currency": "USD"}
    [delivery] = await deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 204)


async def test_a_declined_payment_and_its_order_are_events_too_each_for_who_wants_it(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.failed", "order.created")

    order, _ = await pay(db, shop, card=DECLINED)
    await deliver(db, sender, datetime.now(UTC))

    assert sorted(receiver.types()) == ["order.created", "payment.failed"]
    assert next(r for r in receiver.received if r.type == "order.created").data["id"] == order.id


async def test_a_change_rolled_back_writes_no_event_and_sends_nothing(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "order.canceled", "order.created")
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await deliver(db, sender, datetime.now(UTC))
    receiver.received.clear()

    async with SqlUnitOfWork(db) as uow:  # the same save a cancel makes, never committed
        found = await uow.orders.get(order.id, for_update=True)
        found.move_to(OrderStatus.CANCELED, datetime.now(UTC))
        await uow.orders.save(found)
    moved = await deliver(db, sender, datetime.now(UTC))

    assert moved == 0 and receiver.received == []
    async with db.write_sessions() as session:
        types = (await session.exec(select(OutgoingEventRow.type))).all()
    assert types == ["order.created"]


async def test_a_failing_endpoint_is_retried_with_backoff_then_disabled(db, shop, receiver, sender):
    endpoint = await endpoint_for(db, shop, receiver, "payment.succeeded")
    receiver.answer = lambda _: 503
    await pay(db, shop)
    now = datetime.now(UTC)

    assert await deliver(db, sender, now) == 1
    for wait in RETRY_WAITS:
        assert await deliver(db, sender, now + wait - timedelta(seconds=1)) == 0  # not before its time
        now += wait
        assert await deliver(db, sender, now) == 1

    [delivery] = await deliveries(db)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert [a.status_code for a in await log_of(db, delivery.id)] == [503] * MAX_ATTEMPTS
    assert len(receiver.received) == MAX_ATTEMPTS
    assert len({r.msg_id for r in receiver.received}) == 1  # the same webhook-id every time
    assert now - delivery.started_at.replace(tzinfo=UTC) > timedelta(days=3)
    async with SqlUnitOfWork(db) as uow:
        stored = await uow.webhook_endpoints.get(endpoint.pk)
    assert not stored.enabled and stored.disabled_reason.startswith("every attempt failed")

    receiver.answer = lambda _: 204  # a disabled endpoint is sent nothing new
    await pay(db, shop)
    assert await deliver(db, sender, now + timedelta(days=1)) == 0


async def test_an_endpoint_that_succeeded_meanwhile_stays_enabled_when_one_delivery_gives_up(
        db, shop, receiver, sender):
    endpoint = await endpoint_for(db, shop, receiver, "payment.succeeded")
    _, first = await pay(db, shop)
    receiver.answer = lambda got: 500 if got.data["id"] == first.id else 204
    now = datetime.now(UTC)
    await deliver(db, sender, now)

    await pay(db, shop)
    for wait in RETRY_WAITS:
        now += wait
        await deliver(db, sender, now)

    statuses = [d.status for d in await deliveries(db)]
    assert statuses == ["failed", "succeeded"]
    async with SqlUnitOfWork(db) as uow:
        assert (await uow.webhook_endpoints.get(endpoint.pk)).enabled


async def test_a_redirect_is_a_failure_and_is_never_followed(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.succeeded")
    receiver.answer = lambda _: 307

    await pay(db, shop)
    await deliver(db, sender, datetime.now(UTC))

    [delivery] = await deliveries(db)
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)
    assert len(receiver.received) == 1  # the receiver's /elsewhere would have failed the test


async def test_after_rotation_both_secrets_verify_until_the_overlap_ends(db, shop, receiver, sender):
    endpoint = await endpoint_for(db, shop, receiver, "payment.succeeded")
    old = endpoint.secret

    rotated = await rotate_endpoint_secret(admin(shop), endpoint.pk, SqlUnitOfWork(db))
    receiver.secrets.append(rotated.secret)
    await pay(db, shop)
    await deliver(db, sender, datetime.now(UTC))
    await pay(db, shop)
    await deliver(db, sender, datetime.now(UTC) + ROTATION_OVERLAP + timedelta(minutes=1))

    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    during, after = receiver.received
    assert during.verified_by == (old, rotated.secret)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_by == (rotated.secret,)


async def test_a_manual_redelivery_sends_the_same_event_again_and_keeps_the_log(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.succeeded")
    await pay(db, shop)
    await deliver(db, sender, datetime.now(UTC))
    [delivery] = await deliveries(db)

    again = await redeliver(admin(shop), delivery.id, SqlUnitOfWork(db), datetime.now(UTC))
    await deliver(db, sender, datetime.now(UTC))

    assert again.status is DeliveryStatus.PENDING
    first, second = receiver.received
    assert first.msg_id == second.msg_id and first.body == second.body
    assert [a.status_code for a in await log_of(db, delivery.id)] == [204, 204]


async def test_an_objects_events_arrive_in_order_even_when_the_first_needs_a_retry(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "order.created", "order.paid")
    refused = set()

    def answer(got) -> int:
        if got.type == "order.created" and got.msg_id not in refused:
            refused.add(got.msg_id)
            return 500
        return 204
    receiver.answer = answer
    order, _ = await pay(db, shop)
    now = datetime.now(UTC)

    await deliver(db, sender, now)
    assert receiver.types() == ["order.created"]  # order.paid waits behind it
    await deliver(db, sender, now + RETRY_WAITS[0])

    assert receiver.types() == ["order.created", "order.created", "order.paid"]
    assert {r.data["id"] for r in receiver.received} == {order.id}


async def test_a_disabled_endpoint_is_skipped_and_enabling_it_sends_what_waited(db, shop, receiver, sender):
    endpoint = await endpoint_for(db, shop, receiver, "payment.succeeded")
    await pay(db, shop)
    await set_endpoint_enabled(admin(shop), endpoint.pk, False, SqlUnitOfWork(db))
    await deliver(db, sender, datetime.now(UTC))
    assert receiver.received == []

    await set_endpoint_enabled(admin(shop), endpoint.pk, True, SqlUnitOfWork(db))
    await deliver(db, sender, datetime.now(UTC))

    assert receiver.types() == []  # fanned out while disabled: the event was for nobody
    await pay(db, shop)
    await deliver(db, sender, datetime.now(UTC))
    assert receiver.types() == ["payment.succeeded"]


async def test_concurrent_workers_deliver_each_event_once_and_in_order_per_object(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "order.paid", "order.canceled", "order.created", "order.refunded")
    receiver.delay_s = 0.02
    now = datetime.now(UTC)
    objects, per_object = 20, 4
    async with SqlUnitOfWork(db) as uow:
        for step, type_ in enumerate(("order.created", "order.paid", "order.refunded", "order.canceled")[:per_object]):
            for object_id in range(1, objects + 1):
                await uow.outgoing_events.record(new_event(type_, object_id, {"step": step}, now))
        await uow.commit()
    async with SqlUnitOfWork(db) as uow:  # fanned out first: every worker finds deliveries to claim
        await uow.webhook_deliveries.fan_out(now, 1_000)
        await uow.commit()

    async def worker(start_s: float) -> int:
        await asyncio.sleep(start_s)  # staggered: a claim lands while another worker is sending
        # Small batches: each worker takes a few, the next ones are still there for the others.
        return await deliver_due(lambda: SqlUnitOfWork(db), sender, now, limit=3)

    starts = (0, 0, 0.004, 0.004, 0.008, 0.008)  # pairs claim at the same moment, the rest meanwhile
    moved = [0] * len(starts)
    while rounds := await asyncio.gather(*(worker(s) for s in starts)):
        moved = [m + r for m, r in zip(moved, rounds, strict=True)]
        if not sum(rounds):
            break

    ids = [r.msg_id for r in receiver.received]
    assert len(ids) == len(set(ids)) == objects * per_object
    assert sum(1 for m in moved if m) > 1  # several workers took part
    for object_id in range(1, objects + 1):
        steps = [r.data["step"] for r in receiver.received if r.data["id"] == object_id]
        assert steps == list(range(per_object))
    async with db.write_sessions() as session:
        attempts = (await session.exec(select(func.count()).select_from(WebhookDeliveryAttemptRow))).one()
    assert attempts == objects * per_object


async def test_a_refund_request_approved_tells_of_the_request_the_refund_and_the_order(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "refund_request.created", "refund_request.approved", "refund.created",
                       "refund.succeeded", "order.partially_refunded", "payment.succeeded")
    gateway = providers()  # the dummy gateway keeps its payments in memory: one for the whole story
    order, payment = await pay(db, shop, gateway=gateway)

    asked = await request_refund(AskRefund(customer(shop), payment.id, Money.of(500, "USD"), "dented"),
                                 SqlUnitOfWork(db))
    _, _, refund = await decide_refund(DecideRefund(staff(shop), asked.pk, True), SqlUnitOfWork(db), gateway, POLICY)
    await deliver(db, sender, datetime.now(UTC))

    assert sorted(receiver.types()) == sorted(["payment.succeeded", "refund_request.created",
                                               "refund_request.approved", "refund.created", "refund.succeeded",
                                               "order.partially_refunded"])
    by_type = {r.type: r.data for r in receiver.received}
    assert by_type["refund.succeeded"] == {"id": refund.id, "status": "succeeded", "payment_id": payment.id,
                                           "payment_uuid": str(payment.uuid), "decline_code": None,
                                           "amount": {"amount": 500, "currency": "USD"}}
    assert by_type["refund_request.approved"]["refund_id"] == refund.id
    assert by_type["order.partially_refunded"]["id"] == order.id
    assert all(r.verified_by for r in receiver.received)


async def test_a_payment_asking_for_3ds_then_canceled_with_its_order_tells_each_move(db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.requires_action", "payment.canceled", "order.canceled")
    gateway = providers()
    order, payment = await pay(db, shop, card=THREE_D_SECURE, gateway=gateway)

    await cancel_order(CancelOrder(customer(shop), order.id, "changed my mind"), SqlUnitOfWork(db), gateway, POLICY)
    now = datetime.now(UTC)
    await deliver(db, sender, now)

    assert sorted(receiver.types()) == ["order.canceled", "payment.canceled", "payment.requires_action"]
    payment_events = [r.type for r in receiver.received if r.data["id"] == payment.id and r.type.startswith("pay")]
    assert payment_events == ["payment.requires_action", "payment.canceled"]  # in order, per object


async def test_deleting_an_endpoint_while_events_fan_out_to_it_leaves_nothing_behind(db, shop, receiver):
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: the fan-out and the delete can't overlap")
    endpoint = await endpoint_for(db, shop, receiver, "order.created")
    await order_for(db, shop, {"SAM-MUG-01": 1})
    fan_out = SqlUnitOfWork(db)

    async with fan_out:  # a worker's fan-out, still open: it made a delivery to the endpoint
        assert await fan_out.webhook_deliveries.fan_out(datetime.now(UTC), 100) == 1
        deleting = asyncio.create_task(delete_endpoint(admin(shop), endpoint.pk, SqlUnitOfWork(db)))
        await asyncio.sleep(0.3)
        assert not deleting.done()  # the delete waits for it
        await fan_out.commit()
    await deleting

    assert await deliveries(db) == []
    async with SqlUnitOfWork(db) as uow:
        assert await uow.webhook_endpoints.get(endpoint.pk) is None


async def test_finished_deliveries_and_their_events_are_forgotten_after_thirty_days_pending_ones_never(
        db, shop, receiver, sender):
    await endpoint_for(db, shop, receiver, "payment.succeeded", "payment.failed")
    receiver.answer = lambda got: 204 if got.type == "payment.succeeded" else 500
    await pay(db, shop)
    await pay(db, shop, card=DECLINED)
    now = datetime.now(UTC)
    await deliver(db, sender, now)

    kept = await purge_delivered(lambda: SqlUnitOfWork(db), now + KEPT_FOR - timedelta(minutes=1))
    purged = await purge_delivered(lambda: SqlUnitOfWork(db), now + KEPT_FOR + timedelta(minutes=1))

    assert (kept, purged) == (0, 1)
    [left] = await deliveries(db)
    assert left.status == "pending" and len(await log_of(db, left.id)) == 1
    async with db.write_sessions() as session:
        types = (await session.exec(select(OutgoingEventRow.type))).all()
    assert "payment.succeeded" not in types and "payment.failed" in types


async def test_an_endpoint_that_succeeded_once_and_then_nothing_for_days_is_disabled(db, shop, receiver, sender):
    endpoint = await endpoint_for(db, shop, receiver, "payment.succeeded")
    await pay(db, shop)
    now = datetime.now(UTC)
    await deliver(db, sender, now)  # accepted
    receiver.answer = lambda _: 502

    await pay(db, shop)
    now += timedelta(hours=1)
    await deliver(db, sender, now)
    for wait in RETRY_WAITS:
        now += wait
        await deliver(db, sender, now)

    assert [d.status for d in await deliveries(db)] == ["succeeded", "failed"]
    async with SqlUnitOfWork(db) as uow:
        assert not (await uow.webhook_endpoints.get(endpoint.pk)).enabled
