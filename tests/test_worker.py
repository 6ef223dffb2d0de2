"""The worker's jobs through the real unit of work: reconciling attempts, releasing holds.

An answer lost between the provider and us is simulated with a real provider in front of the
dummy gateway (`LossyNetwork`), or by doing pay_order's first phase by hand and never the second.
Time moves with the worker's clock, never by patching.
"""
from __future__ import annotations

import ast
import asyncio
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from db.dummy_gateway import SqlDummyRecords
from db.ledger_queries import all_entries
from db.tables import ProductRow
from db.uow import SqlUnitOfWork
from domain.cards import CardInput
from domain.clock import Clock, utc_now
from domain.errors import ProviderUnavailableError
from domain.ledger import EntryKind, balance_of, release_ref
from domain.ledger.accounts import customer_refunds, seller_available, seller_held
from domain.marketplace.holds import MarkDelivered, mark_delivered
from domain.money import Money
from domain.orders.model import OrderStatus
from domain.payments.model import Payment
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    Declined,
    FindRequest,
    Outcome,
    Providers,
    RefundRequest,
    Succeeded,
    VoidRequest,
)
from domain.payments.reconcile import reconcile_payment
from domain.payments.service import (
    CapturePayment,
    PayOrder,
    RefundPayment,
    capture_payment,
    pay_order,
    refund_payment,
)
from domain.payments.status import AttemptStatus, PaymentStatus
from domain.services import Services
from paygate.app import create_app
from paygate.events import LocalBus, RedisBus
from paygate.worker import run_once, worker_services
from providers.dummy import DummyGateway
from tests.conftest import TEST_SECRET, settings_for, start_server, stop_server
from tests.payments_fixtures import POLICY, VISA, assert_ledger_balances, customer, order_for, staff

ROOT = Path(__file__).resolve().parents[1]
THREE_D_SECURE = CardInput("4000 0025 0000 3155", 12, 2034, "123")
GRACE_PASSED = timedelta(minutes=2)  # the reconciliation grace is 60 s


class LossyNetwork:
    """The dummy gateway behind a network that fails: calls named in `lose` reach the gateway,
    which acts, and their first answer is lost (a timeout); calls named in `down` never reach it."""

    name = "dummy"

    def __init__(self, gateway: DummyGateway, *, lose: set[str] = frozenset(), down: set[str] = frozenset(),
                 capabilities: frozenset[Capability] | None = None):
        self.gateway = gateway
        self.capabilities = gateway.capabilities if capabilities is None else capabilities
        self.lose = set(lose)
        self.down = set(down)

    async def _call(self, method: str, request) -> Outcome:
        if method in self.down:
            raise ProviderUnavailableError(f"{method}: connection refused")
        outcome = await getattr(self.gateway, method)(request)
        if method in self.lose:
            self.lose.discard(method)
            raise ProviderUnavailableError(f"{method}: timed out reading the answer")
        return outcome

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        return await self._call("authorize", req)

    async def capture(self, req: CaptureRequest) -> Outcome:
        return await self._call("capture", req)

    async def void(self, req: VoidRequest) -> Outcome:
        return await self._call("void", req)

    async def refund(self, req: RefundRequest) -> Outcome:
        return await self._call("refund", req)

    async def fetch(self, provider_ref: str) -> Outcome:
        return await self._call("fetch", provider_ref)

    async def find_authorization(self, req: FindRequest) -> Outcome:
        return await self._call("find_authorization", req)


def at(offset: timedelta) -> Clock:
    moment = datetime.now(UTC) + offset
    return lambda: moment


def services(db, provider, after: timedelta = GRACE_PASSED) -> Services:
    return Services(lambda: SqlUnitOfWork(db), Providers([provider]), POLICY, LocalBus(), clock=at(after))


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


async def _pay(db, shop, order, provider, card: CardInput = VISA, capture_method=CaptureMethod.AUTOMATIC,
               clock: Clock = utc_now) -> Payment:
    return await pay_order(PayOrder(customer(shop), order.id, "dummy", capture_method, card=card),
                           SqlUnitOfWork(db), Providers([provider]), POLICY, clock)


async def _refund(db, shop, payment: Payment, provider, amount: Money | None = None):
    return await refund_payment(RefundPayment(staff(shop), payment.id, amount), SqlUnitOfWork(db),
                                Providers([provider]), POLICY)


async def _payment(db, payment_id: int) -> Payment:
    async with SqlUnitOfWork(db) as uow:
        return await uow.payments.get(payment_id)


async def _order_status(db, order_id: int) -> OrderStatus:
    async with SqlUnitOfWork(db) as uow:
        return (await uow.orders.get(order_id)).status


async def _stock(db, sku: str) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(ProductRow.stock).where(ProductRow.sku == sku))).one()


def _kinds(entries) -> list[EntryKind]:
    return [e.kind for e in entries]


# --- reconciling attempts ----------------------------------------------------------------------


async def test_a_3ds_authorization_finished_while_we_were_not_listening_settles_by_fetch_and_sells_the_goods(
        db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    gateway = DummyGateway()
    waiting = await _pay(db, shop, order, gateway, THREE_D_SECURE)
    await gateway.confirm(waiting.provider_ref)  # the customer passed 3-D Secure; our settle never ran

    moved = await run_once(db, services(db, gateway))

    payment = await _payment(db, waiting.id)
    assert waiting.status is PaymentStatus.REQUIRES_ACTION
    assert moved["reconcile-attempts"] == 1
    assert (payment.status, payment.attempt(1).status) == (PaymentStatus.SUCCEEDED, AttemptStatus.SUCCEEDED)
    assert payment.amount_captured == usd(2998)
    assert await _order_status(db, order.id) is OrderStatus.PAID
    assert await _stock(db, "SAM-MUG-01") == 38
    assert _kinds(await assert_ledger_balances(db)) == [EntryKind.CAPTURE]


async def test_a_3ds_authorization_the_customer_failed_settles_as_failed_and_sells_nothing(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    gateway = DummyGateway()
    waiting = await _pay(db, shop, order, gateway, THREE_D_SECURE)
    await gateway.confirm(waiting.provider_ref, authenticated=False)

    await run_once(db, services(db, gateway))

    payment = await _payment(db, waiting.id)
    assert payment.status is PaymentStatus.FAILED
    assert payment.decline_code == "payment_intent_authentication_failure"
    assert await _order_status(db, order.id) is OrderStatus.PENDING_PAYMENT
    assert await _stock(db, "SAM-MUG-01") == 40
    assert await all_entries(db) == []


async def test_a_payment_still_waiting_for_the_customer_is_asked_about_but_not_rewritten(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = DummyGateway()
    waiting = await _pay(db, shop, order, gateway, THREE_D_SECURE)

    moved = await run_once(db, services(db, gateway))

    payment = await _payment(db, waiting.id)
    assert moved["reconcile-attempts"] == 0
    assert payment.status is PaymentStatus.REQUIRES_ACTION and payment.updated_at == waiting.updated_at


async def _authorization_recorded(db, order) -> tuple[Payment, object]:
    """pay_order's first phase by hand: the attempt is recorded, and the process dies before settling."""
    async with SqlUnitOfWork(db) as uow:
        now = datetime.now(UTC)
        payment = Payment.new(order_id=order.id, buyer_id=order.buyer_id, provider="dummy",
                              amount=order.total, now=now)
        attempt = payment.start_authorization(now=now)
        payment = await uow.payments.add(payment)
        await uow.commit()
    return payment, attempt


async def test_an_authorization_whose_answer_never_came_back_is_flagged_unknown_and_never_guessed(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = DummyGateway()
    # A provider that can't find an authorization by our key (no Capability.FIND), as Stripe today.
    cannot_find = LossyNetwork(gateway, capabilities=gateway.capabilities - {Capability.FIND})
    payment, attempt = await _authorization_recorded(db, order)
    charged = await gateway.authorize(payment.authorize_request(attempt, card=VISA))

    first = await run_once(db, services(db, cannot_find))
    later = await run_once(db, services(db, cannot_find, after=timedelta(minutes=20)))

    stored = await _payment(db, payment.id)
    assert isinstance(charged, Succeeded)  # the provider did charge: "failed" would be a wrong guess
    assert (first["reconcile-attempts"], later["reconcile-attempts"]) == (1, 0)
    assert (stored.status, stored.attempt(1).status) == (PaymentStatus.REQUIRES_PAYMENT_METHOD,
                                                         AttemptStatus.UNKNOWN)
    assert await _order_status(db, order.id) is OrderStatus.PENDING_PAYMENT
    assert await all_entries(db) == []


async def test_a_capture_whose_answer_was_lost_is_resent_with_its_key_and_captures_once(db, shop):
    order = await order_for(db, shop, {"SAM-KNIFE-01": 1})
    network = LossyNetwork(DummyGateway(), lose={"capture"})
    authorized = await _pay(db, shop, order, network, capture_method=CaptureMethod.MANUAL)
    lost = await capture_payment(CapturePayment(staff(shop), authorized.id, usd(3000)), SqlUnitOfWork(db),
                                 Providers([network]), POLICY)

    await run_once(db, services(db, network))
    await run_once(db, services(db, network, after=timedelta(minutes=5)))

    payment = await _payment(db, authorized.id)
    assert (lost.status, lost.attempt(2).status) == (PaymentStatus.REQUIRES_CAPTURE, AttemptStatus.UNKNOWN)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.SUCCEEDED, usd(3000))
    assert await _order_status(db, order.id) is OrderStatus.PAID
    entries = await assert_ledger_balances(db)
    assert _kinds(entries) == [EntryKind.CAPTURE] and entries[0].total("USD") == usd(3000)


async def test_a_refund_whose_answer_was_lost_is_resent_with_its_key_and_posted_once_by_concurrent_workers(
        db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    network = LossyNetwork(DummyGateway(), lose={"refund"})
    paid = await _pay(db, shop, order, network)
    _, lost = await _refund(db, shop, paid, network, usd(1000))

    passes = await asyncio.gather(*(run_once(db, services(db, network)) for _ in range(4)))
    later = await run_once(db, services(db, network, after=timedelta(minutes=10)))

    payment = await _payment(db, paid.id)
    assert lost.status is AttemptStatus.UNKNOWN
    assert sum(p["reconcile-attempts"] for p in passes) == 1 and later["reconcile-attempts"] == 0
    assert payment.attempt(2).status is AttemptStatus.SUCCEEDED and payment.amount_refunded == usd(1000)
    assert await _order_status(db, order.id) is OrderStatus.PARTIALLY_REFUNDED
    assert repr(network.gateway) == "DummyGateway(1 payments, 1 refunds)"
    entries = await assert_ledger_balances(db)
    assert _kinds(entries) == [EntryKind.CAPTURE, EntryKind.REFUND]
    assert balance_of(entries, customer_refunds(shop.id_of("customer@example.com"), "USD")) == usd(1000)


async def test_workers_settling_the_same_payment_at_once_post_its_refund_once(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    network = LossyNetwork(DummyGateway(), lose={"refund"})
    paid = await _pay(db, shop, order, network)
    await _refund(db, shop, paid, network)

    # No claim here: each worker asks the provider and settles, as when leases overlap.
    await asyncio.gather(*(reconcile_payment(paid.id, SqlUnitOfWork(db), Providers([network]), POLICY,
                                             at(GRACE_PASSED)) for _ in range(5)))

    payment = await _payment(db, paid.id)
    assert payment.amount_refunded == usd(2998)
    assert await _order_status(db, order.id) is OrderStatus.REFUNDED
    entries = await assert_ledger_balances(db)
    assert _kinds(entries) == [EntryKind.CAPTURE, EntryKind.REFUND]


async def test_an_attempt_the_provider_still_cannot_answer_stays_unknown_and_is_asked_a_grace_period_later(
        db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    network = LossyNetwork(DummyGateway(), down={"refund"})
    paid = await _pay(db, shop, order, network)
    await _refund(db, shop, paid, network)

    down = await run_once(db, services(db, network, after=timedelta(minutes=2)))
    network.down.clear()
    too_soon = await run_once(db, services(db, network, after=timedelta(minutes=2, seconds=30)))
    unknown_still = (await _payment(db, paid.id)).attempt(2).status
    back = await run_once(db, services(db, network, after=timedelta(minutes=4)))

    assert [run["reconcile-attempts"] for run in (down, too_soon, back)] == [0, 0, 1]
    assert unknown_still is AttemptStatus.UNKNOWN
    assert (await _payment(db, paid.id)).attempt(2).status is AttemptStatus.SUCCEEDED
    assert _kinds(await assert_ledger_balances(db)) == [EntryKind.CAPTURE, EntryKind.REFUND]


async def test_an_attempt_younger_than_the_grace_period_is_left_to_its_own_call(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    network = LossyNetwork(DummyGateway(), lose={"refund"})
    paid = await _pay(db, shop, order, network)
    await _refund(db, shop, paid, network)

    moved = await run_once(db, services(db, network, after=timedelta(seconds=10)))

    assert moved["reconcile-attempts"] == 0
    assert (await _payment(db, paid.id)).attempt(2).status is AttemptStatus.UNKNOWN


def worker_process(database_url: str, db) -> Services:
    """What `paygate worker` builds: its own providers, from the settings, past the grace period."""
    return replace(worker_services(settings_for(database_url), db), clock=at(GRACE_PASSED))


async def test_a_separate_worker_process_settles_a_dummy_refund_whose_answer_was_lost(db, shop, database_url):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    network = LossyNetwork(DummyGateway(SqlDummyRecords(db)), lose={"refund"})
    paid = await _pay(db, shop, order, network)
    await _refund(db, shop, paid, network)

    moved = await run_once(db, worker_process(database_url, db))

    payment = await _payment(db, paid.id)
    assert moved["reconcile-attempts"] == 1
    assert payment.attempt(2).status is AttemptStatus.SUCCEEDED and payment.amount_refunded == paid.amount_captured
    assert _kinds(await assert_ledger_balances(db)) == [EntryKind.CAPTURE, EntryKind.REFUND]


async def test_what_a_separate_worker_settles_reaches_the_subscribers_of_app_processes_through_redis(
        db, shop, database_url, redis_url):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    network = LossyNetwork(DummyGateway(SqlDummyRecords(db)), lose={"refund"})
    paid = await _pay(db, shop, order, network)
    await _refund(db, shop, paid, network)
    app_process = RedisBus(redis_url)  # an app process's bus, listening
    await app_process.start()
    worker = replace(worker_services(settings_for(database_url, redis_url=redis_url), db), clock=at(GRACE_PASSED))

    try:
        async with app_process.subscribe(f"payment:{paid.id}") as heard:
            await run_once(db, worker)
            topic = await asyncio.wait_for(heard.get(), 5)
    finally:
        await app_process.close()
        await worker.events.close()  # type: ignore[attr-defined]

    assert topic == f"payment:{paid.id}"


async def test_a_dummy_authorization_the_gateway_answered_before_the_crash_is_found_by_its_key(
        db, shop, database_url):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    payment, attempt = await _authorization_recorded(db, order)
    charged = await DummyGateway(SqlDummyRecords(db)).authorize(payment.authorize_request(attempt, card=VISA))

    moved = await run_once(db, worker_process(database_url, db))

    stored = await _payment(db, payment.id)
    assert isinstance(charged, Succeeded) and moved["reconcile-attempts"] == 1
    assert (stored.status, stored.attempt(1).status) == (PaymentStatus.SUCCEEDED, AttemptStatus.SUCCEEDED)
    assert stored.provider_ref == charged.provider_ref and stored.amount_captured == order.total
    assert await _order_status(db, order.id) is OrderStatus.PAID
    assert await _stock(db, "SAM-MUG-01") == 38
    assert _kinds(await assert_ledger_balances(db)) == [EntryKind.CAPTURE]


async def test_a_dummy_authorization_never_sent_before_the_crash_fails_and_stays_failed(db, shop, database_url):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    payment, attempt = await _authorization_recorded(db, order)

    moved = await run_once(db, worker_process(database_url, db))
    late = await DummyGateway(SqlDummyRecords(db)).authorize(payment.authorize_request(attempt, card=VISA))

    stored = await _payment(db, payment.id)
    assert moved["reconcile-attempts"] == 1
    assert (stored.status, stored.attempt(1).status) == (PaymentStatus.FAILED, AttemptStatus.FAILED)
    assert stored.decline_code == "payment_intent_not_received"
    assert isinstance(late, Declined) and late.decline_code == "payment_intent_not_received"
    assert await _order_status(db, order.id) is OrderStatus.PENDING_PAYMENT
    assert await all_entries(db) == []


# --- releasing holds ---------------------------------------------------------------------------


async def _paid(db, shop, items: dict[str, int], days_ago: float, gateway: DummyGateway,
                delivered: bool = True) -> Payment:
    """Paid `days_ago`, and (unless told otherwise) delivered by staff the same moment: a hold
    runs HOLD_DAYS from delivery."""
    order = await order_for(db, shop, items)
    clock = at(-timedelta(days=days_ago))
    payment = await _pay(db, shop, order, gateway, clock=clock)
    if delivered:
        await mark_delivered(MarkDelivered(staff(shop), order.id), SqlUnitOfWork(db), POLICY.hold_period, clock())
    return payment


async def test_a_hold_whose_lines_were_never_delivered_stays_held_however_old(db, shop):
    gateway = DummyGateway()
    await _paid(db, shop, {"SAM-MUG-01": 1}, 30, gateway, delivered=False)

    moved = await run_once(db, services(db, gateway, after=timedelta(0)))

    entries = await assert_ledger_balances(db)
    assert moved["release-holds"] == 0
    assert [e for e in entries if e.kind is EntryKind.RELEASE] == []
    assert balance_of(entries, seller_held(shop.id_of("seller@example.com"), "USD")) == usd(1499 - 150)


async def test_holds_past_the_hold_period_are_released_once_and_younger_ones_stay_held(db, shop):
    gateway = DummyGateway()
    old = await _paid(db, shop, {"SAM-MUG-01": 1, "SORA-NOTE-01": 1}, 8, gateway)  # both sellers
    await _paid(db, shop, {"SAM-KNIFE-01": 1}, 6, gateway)
    seller, seller2 = shop.id_of("seller@example.com"), shop.id_of("seller2@example.com")

    passes = await asyncio.gather(*(run_once(db, services(db, gateway, after=timedelta(0))) for _ in range(3)))
    later = await run_once(db, services(db, gateway, after=timedelta(hours=1)))

    entries = await assert_ledger_balances(db)
    releases = [e for e in entries if e.kind is EntryKind.RELEASE]
    assert sorted(e.ref for e in releases) == sorted([release_ref(str(old.uuid), seller),
                                                      release_ref(str(old.uuid), seller2)])
    assert sum(p["release-holds"] for p in passes) == 2 and later["release-holds"] == 0
    assert balance_of(entries, seller_available(seller, "USD")) == usd(1499 - 150)
    assert balance_of(entries, seller_available(seller2, "USD")) == usd(1299 - 130)
    assert balance_of(entries, seller_held(seller, "USD")) == usd(3999 - 400)  # the younger capture
    assert balance_of(entries, seller_held(seller2, "USD")) == usd(0)


async def test_a_partly_refunded_hold_releases_what_is_left_and_a_fully_refunded_one_releases_nothing(
        db, shop):
    gateway = DummyGateway()
    partly = await _paid(db, shop, {"SAM-MUG-01": 2}, 9, gateway)
    fully = await _paid(db, shop, {"SAM-KNIFE-01": 1}, 9, gateway)
    await _refund(db, shop, partly, gateway, usd(998))
    await _refund(db, shop, fully, gateway)
    seller = shop.id_of("seller@example.com")

    moved = await run_once(db, services(db, gateway, after=timedelta(0)))

    entries = await assert_ledger_balances(db)
    assert moved["release-holds"] == 1
    assert [e.ref for e in entries if e.kind is EntryKind.RELEASE] == [release_ref(str(partly.uuid), seller)]
    assert balance_of(entries, seller_held(seller, "USD")) == usd(0)
    assert balance_of(entries, seller_available(seller, "USD")) == usd(2998 - 300 - 898)


async def test_several_worker_processes_release_each_hold_once(db, shop, database_url):
    gateway = DummyGateway()
    old = await _paid(db, shop, {"SAM-MUG-01": 1, "SORA-NOTE-01": 1}, 8, gateway)
    env = {**os.environ, "PAYGATE_DATABASE_URL": database_url, "PAYGATE_SECRET_KEY": TEST_SECRET}

    workers = [await asyncio.create_subprocess_exec(sys.executable, "-m", "paygate.cli", "worker", "--once",
                                                    cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE) for _ in range(3)]
    outputs = [await asyncio.wait_for(w.communicate(), 60) for w in workers]

    assert [w.returncode for w in workers] == [0, 0, 0], [err.decode()[-2000:] for _, err in outputs]
    moved = [ast.literal_eval(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(m["release-holds"] for m in moved) == 2
    entries = await assert_ledger_balances(db)
    sellers = [shop.id_of("seller@example.com"), shop.id_of("seller2@example.com")]
    assert sorted(e.ref for e in entries if e.kind is EntryKind.RELEASE) == sorted(
        release_ref(str(old.uuid), seller) for seller in sellers)


async def test_the_embedded_server_runs_the_jobs_itself(database_url, shared_db, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    async with SqlUnitOfWork(db) as uow:  # its reservation lapsed an hour ago
        stored = await uow.orders.get(order.id, for_update=True)
        stored.reserved_until = datetime.now(UTC) - timedelta(hours=1)
        await uow.orders.save(stored)
        await uow.commit()

    server, task, _ = await start_server(create_app(settings_for(database_url), db=shared_db, run_jobs=True))
    try:
        status = None
        for _ in range(100):  # the first pass runs at start-up; a bounded wait, not a timing claim
            async with SqlUnitOfWork(db) as uow:
                status = (await uow.orders.get(order.id)).status
            if status is OrderStatus.EXPIRED:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_server(server, task)

    assert status is OrderStatus.EXPIRED
