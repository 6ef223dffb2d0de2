"""pay_order records the authorization attempt of a payment it creates in the transaction that
creates and screens it (issue 16): the attempt is still committed before the provider is asked,
a payment the risk checks hold or block still has none, and the audit trail and the merchant's
events are the ones the two-transaction path wrote."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from db.outgoing_webhook_tables import OutgoingEventRow
from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.risk import RiskAssessmentRow
from db.tables import AuditRow
from db.uow import SqlUnitOfWork
from domain.errors import RiskReviewError
from domain.payments.consequences import Policy
from domain.payments.provider import AuthorizeRequest, Outcome, Providers
from domain.payments.service import PayOrder, pay_order
from domain.payments.status import PaymentStatus
from domain.risk.model import Thresholds
from domain.risk.service import RiskScreen
from paygate.risk_counters import LocalCounters
from providers.dummy import DummyGateway
from tests.payments_fixtures import VISA, customer, order_for


def _policy(**thresholds) -> Policy:
    risk = RiskScreen(counters=LocalCounters(), thresholds=Thresholds(**thresholds), fingerprint_key=b"k" * 32)
    return Policy(fee_bps=1000, hold_period=timedelta(days=7), risk=risk)


class _Watching(DummyGateway):
    """The dummy gateway, which first reads what is committed (another connection) when asked to
    authorize: what a crash at that moment would leave behind."""

    def __init__(self, db, crash: bool = False) -> None:
        super().__init__()
        self.db, self.crash = db, crash
        self.seen: list[tuple[str, list[tuple[str, str, str]]]] = []
        self.keys: list[str] = []

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        async with self.db.read_sessions() as session:
            payments = (await session.exec(select(PaymentRow))).all()
            for payment in payments:
                attempts = (await session.exec(select(PaymentAttemptRow).where(
                    PaymentAttemptRow.payment_id == payment.id))).all()
                self.seen.append((payment.status, [(a.kind, a.status, a.idempotency_key) for a in attempts]))
        self.keys.append(req.idempotency_key)
        if self.crash:
            raise RuntimeError("the process died here")
        return await super().authorize(req)


async def _last_event(db) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(func.coalesce(func.max(OutgoingEventRow.id), 0)))).one()


async def _rows(db, payment_uuid: str, after_event: int) -> tuple[list[str], list[str], list[str]]:
    """The payment's audit actions, the events written since `after_event`, the risk decisions."""
    async with db.read_sessions() as session:
        audit = (await session.exec(select(AuditRow.action).where(AuditRow.object_id == payment_uuid)
                                    .order_by(AuditRow.id))).all()
        events = (await session.exec(select(OutgoingEventRow.type).where(OutgoingEventRow.id > after_event)
                                     .order_by(OutgoingEventRow.id))).all()
        decisions = (await session.exec(select(RiskAssessmentRow.decision))).all()
    return list(audit), list(events), list(decisions)


@pytest.mark.parametrize("risk", [True, False])
async def test_the_attempt_is_committed_with_the_new_payment_before_the_gateway_is_asked(db, shop, risk):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway, last = _Watching(db), await _last_event(db)

    paid = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                           Providers([gateway]), _policy() if risk else Policy(1000, timedelta(days=7)))

    assert paid.status is PaymentStatus.SUCCEEDED
    # Committed before the call, with its key: a crash there leaves it for reconciliation.
    assert gateway.seen == [("requires_payment_method", [("authorize", "pending", f"{paid.uuid}-1")])]
    assert gateway.keys == [f"{paid.uuid}-1"]
    audit, events, decisions = await _rows(db, str(paid.uuid), last)
    # What the two-transaction path wrote (compared on it before the change).
    assert audit == (["payment.create", "risk.allow", "payment.authorize.succeeded"] if risk
                     else ["payment.create", "payment.authorize.succeeded"])
    assert events == ["order.paid", "payment.succeeded"]
    assert decisions == (["allow"] if risk else [])


async def test_a_crash_during_the_call_leaves_the_payment_with_its_pending_attempt(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = _Watching(db, crash=True)

    with pytest.raises(RuntimeError):
        await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                        Providers([gateway]), _policy())

    async with SqlUnitOfWork(db) as uow:
        [payment] = await uow.payments.for_order(order.id)
    assert [(a.kind.value, a.status.value, a.idempotency_key) for a in payment.attempts] == [
        ("authorize", "pending", f"{payment.uuid}-1")]
    assert gateway.keys == [f"{payment.uuid}-1"]  # reconciliation asks with this same key


async def test_a_payment_held_for_review_is_stored_and_screened_without_an_attempt(db, shop):
    order = await order_for(db, shop, {"SAM-KNIFE-01": 1})  # 39.99 USD, above the limit
    gateway, last = _Watching(db), await _last_event(db)

    with pytest.raises(RiskReviewError):
        await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                        Providers([gateway]), _policy(amount_limits={"USD": 2000}))

    async with SqlUnitOfWork(db) as uow:
        [payment] = await uow.payments.for_order(order.id)
    assert payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.attempts == []
    assert gateway.keys == []
    audit, events, decisions = await _rows(db, str(payment.uuid), last)
    assert (audit, events, decisions) == (["payment.create", "risk.review"], [], ["review"])
