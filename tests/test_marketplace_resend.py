"""A transfer or payout whose answer was lost stays booked and pending; the worker sends it again
with its own idempotency key, and the provider makes it once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.dummy_gateway import SqlDummyRecords
from db.uow import SqlUnitOfWork
from domain.errors import ProviderUnavailableError
from domain.identity import Actor, Role
from domain.marketplace.accounts import CreateAccount, create_account
from domain.marketplace.holds import MarkDelivered, ReleaseEarly, mark_delivered, release_early
from domain.marketplace.model import PayoutStatus, TransferStatus
from domain.marketplace.payouts import RequestPayout, create_payout
from domain.marketplace.transfers import RequestTransfer, send_unsent, transfer_payment
from domain.payments.provider import CaptureMethod, Providers
from domain.payments.service import PayOrder, pay_order
from providers.dummy import DummyGateway
from providers.dummy_connect import DummyConnect
from tests.marketplace_fixtures import seller_books
from tests.payments_fixtures import POLICY, VISA, customer, order_for, staff


class LostAnswers:
    """The dummy's Connect behind a network that loses the first answer of the calls named."""

    name = "dummy"

    def __init__(self, inner: DummyConnect, lose: set[str]) -> None:
        self.inner, self.lose = inner, set(lose)
        self.calls: list[str] = []

    def __getattr__(self, attr: str):
        method = getattr(self.inner, attr)

        async def call(*args, **kwargs):
            self.calls.append(attr)
            answer = await method(*args, **kwargs)
            if attr in self.lose:
                self.lose.discard(attr)
                raise ProviderUnavailableError(f"{attr}: timed out reading the answer")
            return answer
        return call


async def test_a_lost_transfer_and_a_lost_payout_are_sent_again_and_made_once(db, shop):
    seller = Actor(shop.id_of("seller@example.com"), "seller@example.com", frozenset({Role.SELLER}))
    dummy = DummyConnect(SqlDummyRecords(db))
    connect = LostAnswers(dummy, {"transfer", "payout"})
    now = datetime.now(UTC)
    account, _ = await create_account(CreateAccount(seller), SqlUnitOfWork(db), dummy, now)
    await dummy.complete_onboarding(account.provider_ref)
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", CaptureMethod.AUTOMATIC, card=VISA),
                              SqlUnitOfWork(db), Providers([DummyGateway(SqlDummyRecords(db))]), POLICY)
    await mark_delivered(MarkDelivered(staff(shop), order.id), SqlUnitOfWork(db), POLICY.hold_period, now)
    await release_early(ReleaseEarly(staff(shop), payment.pk, seller.user_id), SqlUnitOfWork(db),
                        POLICY.hold_period, now)

    (lost,) = await transfer_payment(RequestTransfer(seller, str(payment.uuid)), SqlUnitOfWork(db), connect,
                                     POLICY.hold_period, now)
    too_soon = await send_unsent(SqlUnitOfWork(db), connect, now)
    (sent,) = await transfer_payment(RequestTransfer(seller, str(payment.uuid)), SqlUnitOfWork(db), connect,
                                     POLICY.hold_period, now)  # asking again resends it too
    payout = await create_payout(RequestPayout(seller, "USD"), SqlUnitOfWork(db), connect, now)
    resent = await send_unsent(SqlUnitOfWork(db), connect, now + timedelta(minutes=2))

    assert lost.status is TransferStatus.PENDING and too_soon == 0
    assert sent.status is TransferStatus.PAID and sent.uuid == lost.uuid
    assert payout.status is PayoutStatus.PENDING and resent == 1
    assert connect.calls.count("transfer") == 2 and connect.calls.count("payout") == 2
    assert (await dummy.balance(account.provider_ref)).amounts == {"USD": 0}  # one transfer, one payout
    books = await seller_books(db, seller.user_id)
    assert (books["transferred"], books["paid_out"]) == (0, 1349)
