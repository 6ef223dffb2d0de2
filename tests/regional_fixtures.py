"""The app with Razorpay and Flutterwave configured against tests/fake_razorpay.py and
tests/fake_flutterwave.py (one fake server each per test module), for the modules that import
these fixtures."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from db.payment_tables import LedgerEntryRow, PaymentAttemptRow, PaymentRow
from db.tables import OrderRow
from paygate.app import create_app
from tests import fake_flutterwave, fake_razorpay
from tests.conftest import settings_for, start_server, stop_server
from tests.fake_flutterwave import FakeFlutterwave
from tests.fake_razorpay import FakeRazorpay


@dataclass
class Fakes:
    razorpay: FakeRazorpay
    flutterwave: FakeFlutterwave
    razorpay_url: str
    flutterwave_url: str


@pytest.fixture(scope="module")
async def fakes() -> AsyncIterator[Fakes]:
    razorpay, flutterwave = FakeRazorpay(), FakeFlutterwave()
    servers = [await start_server(razorpay.app), await start_server(flutterwave.app)]
    yield Fakes(razorpay, flutterwave, servers[0][2], servers[1][2])
    for server, task, _ in servers:
        await stop_server(server, task)


def regional_settings(database_url: str, fakes: Fakes, **overrides):  # type: ignore[no-untyped-def]
    return settings_for(database_url, razorpay_key_id=fake_razorpay.KEY_ID,
                        razorpay_key_secret=fake_razorpay.KEY_SECRET,
                        razorpay_webhook_secret=fake_razorpay.WEBHOOK_SECRET, razorpay_api_base=fakes.razorpay_url,
                        flutterwave_secret_key=fake_flutterwave.SECRET_KEY,
                        flutterwave_secret_hash=fake_flutterwave.SECRET_HASH,
                        flutterwave_api_base=fakes.flutterwave_url, **overrides)


@pytest.fixture(scope="module")
async def regional_app(database_url, shared_db, fakes) -> AsyncIterator[tuple[str, object]]:
    app = create_app(regional_settings(database_url, fakes), db=shared_db)
    server, task, url = await start_server(app)
    yield url, app
    await stop_server(server, task)


@pytest.fixture
async def rhttp(regional_app, db, fakes) -> AsyncIterator[httpx.AsyncClient]:
    fakes.razorpay.reset()
    fakes.flutterwave.reset()
    async with httpx.AsyncClient(base_url=regional_app[0], timeout=60) as client:
        yield client


def services_of(regional_app):  # type: ignore[no-untyped-def]
    return regional_app[1].state.services


async def payment_row(db, number: str) -> PaymentRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(PaymentRow).where(PaymentRow.number == number))).one()


async def attempts_of(db, payment_id: int) -> list[PaymentAttemptRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(PaymentAttemptRow).where(PaymentAttemptRow.payment_id == payment_id)
                                        .order_by(PaymentAttemptRow.seq))).all())


async def order_row(db, order_id: int) -> OrderRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(OrderRow).where(OrderRow.id == order_id))).one()


async def ledger_kinds(db) -> list[str]:
    async with db.read_sessions() as session:
        return [r.kind for r in (await session.exec(select(LedgerEntryRow).order_by(LedgerEntryRow.id))).all()]
