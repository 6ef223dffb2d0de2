"""Emails (domain/notifications.py): written to the outbox in the change's own transaction, sent
by the worker's `send-emails` job over SMTP to a real server (aiosmtpd on loopback), retried when
the server refuses, kept for staff when no PAYGATE_SMTP_URL is set; never with card data.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from db.email_tables import EmailOutboxRow
from db.uow import SqlUnitOfWork
from domain.money import Money
from domain.notifications import MAX_TRIES, payment_confirmation, refund_requested
from paygate.bootstrap import build_services
from paygate.worker import JOBS, send_emails
from tests.conftest import settings_for
from tests.graphql import gql
from tests.smtp_server import MailServer
from tests.test_rest_seed_003 import ADMIN, BASE, CUSTOMER, STAFF, auth, paid

FROM = "payments@shop.example"
OUTBOX = "{ emailOutbox(first: 50) { totalCount edges { node { kind toAddress subject status tries } } } }"


@pytest.fixture
async def mail():
    server = await MailServer().start()
    yield server
    await server.stop()


def worker(database_url, db, mail: MailServer | None):
    settings = settings_for(database_url, smtp_url=mail.url if mail else None, email_from=FROM)
    return build_services(settings, db)


async def outbox(db) -> list[EmailOutboxRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(EmailOutboxRow).order_by(EmailOutboxRow.id))).all())


async def pay_ask_and_refund(client, db, shop) -> dict:
    payment = await paid(client, db, shop)
    asked = await client.post(f"{BASE}/{payment['id']}/refund", json={"reason": "arrived dented"},
                              headers=auth(shop))
    assert asked.status_code == 201, asked.text
    done = await client.post(f"{BASE}/admin/{payment['id']}/refund", json={"amount": "5.00", "reason": "dented"},
                             headers=auth(shop, ADMIN))
    assert done.status_code == 200, done.text
    return payment


async def test_the_customer_and_the_admins_get_their_emails_with_no_card_data(client, db, shop, mail,
                                                                             database_url):
    payment = await pay_ask_and_refund(client, db, shop)
    services = worker(database_url, db, mail)

    sent = await send_emails(db, services, services.clock())
    again = await send_emails(db, services, services.clock())

    assert (sent, again) == (3, 0)
    got = {(m.recipients[0], m.subject) for m in mail.received}
    assert got == {(CUSTOMER, f"Payment received for order {_order_number(mail)}"),
                   (ADMIN, f"Refund requested for payment {payment['reference']}"),
                   (CUSTOMER, f"Refund of 5.00 USD for payment {payment['reference']}")}
    assert all(m.sender == FROM and m.message["From"] == FROM for m in mail.received)
    assert all(e.status == "sent" and e.sent_at is not None for e in await outbox(db))
    for message in mail.received:
        text = message.message.as_string().lower()
        assert "4242" not in text and "visa" not in text and "2034" not in text, text


def _order_number(mail: MailServer) -> str:
    subject = next(m.subject for m in mail.received if m.subject.startswith("Payment received"))
    return subject.rsplit(" ", 1)[1]


async def test_without_smtp_the_emails_stay_in_the_outbox_where_staff_see_them(client, db, shop, database_url):
    await pay_ask_and_refund(client, db, shop)

    moved = await send_emails(db, worker(database_url, db, None), worker(database_url, db, None).clock())
    staff = await gql(client, OUTBOX, token=shop.token(STAFF))
    customer = await gql(client, OUTBOX, token=shop.token(CUSTOMER), expect_status=403)

    assert moved == 0
    seen = staff["data"]["emailOutbox"]
    assert seen["totalCount"] == 3
    assert sorted((e["node"]["kind"], e["node"]["toAddress"], e["node"]["status"]) for e in seen["edges"]) == [
        ("payment_confirmation", CUSTOMER, "PENDING"), ("refund_confirmation", CUSTOMER, "PENDING"),
        ("refund_requested", ADMIN, "PENDING")]
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_refusing_server_is_tried_again_later_and_then_given_up(client, db, shop, mail, database_url):
    await paid(client, db, shop)
    services = worker(database_url, db, mail)
    now = services.clock()
    mail.refuse = 1

    first = await send_emails(db, services, now)
    too_soon = await send_emails(db, services, now + timedelta(seconds=30))
    later = await send_emails(db, services, now + timedelta(minutes=6))

    assert (first, too_soon, later) == (0, 0, 1)
    [row] = await outbox(db)
    assert (row.status, row.tries, len(mail.received)) == ("sent", 2, 1)
    assert row.last_error is None

    await paid(client, db, shop)
    mail.refuse = MAX_TRIES
    moment = now
    for _ in range(MAX_TRIES):
        moment += timedelta(hours=1)
        await send_emails(db, services, moment)
    failed = (await outbox(db))[-1]
    assert (failed.status, failed.tries) == ("failed", MAX_TRIES)
    assert "554" in (failed.last_error or "")


async def test_the_same_news_twice_writes_one_email_per_recipient(db, shop):
    uow = SqlUnitOfWork(db)
    user = shop.id_of(CUSTOMER)
    email = payment_confirmation("0000-uuid", "TXN-1", "ORD-1", Money.of(100, "USD"), user)

    for _ in range(2):
        async with uow:
            await uow.emails.add(email, _now())
            await uow.emails.add(refund_requested("req-1", "TXN-1", Money.of(100, "USD"), "why"), _now())
            await uow.commit()

    rows = await outbox(db)
    admins = [u for u, row in shop.users.items() if "admin" in row.roles.split()]
    assert sorted((r.key, r.to_address) for r in rows) == sorted(
        [("payment:0000-uuid", CUSTOMER)] + [("refund-request:req-1", a) for a in admins])


async def test_workers_sending_at_once_send_each_email_once(client, db, shop, mail, database_url):
    for _ in range(3):
        await paid(client, db, shop)
    one, two = worker(database_url, db, mail), worker(database_url, db, mail)
    now = one.clock()

    results = await asyncio.gather(send_emails(db, one, now), send_emails(db, two, now))

    assert sum(results) == 3
    assert sorted(m.subject for m in mail.received) == sorted({m.subject for m in mail.received})
    assert len(mail.received) == 3


def test_sending_is_a_job_of_the_worker():
    assert ("send-emails", send_emails) in [(job.name, job.run) for job in JOBS]


def _now():
    from datetime import UTC, datetime
    return datetime.now(UTC)
