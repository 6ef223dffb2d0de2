"""The request id has one source: the outermost middleware accepts the caller's when it is short
and plain, else makes one, and everything (logs, the response header, the audit trail written by
any surface) uses that one."""
from __future__ import annotations

from sqlmodel import select

from db.tables import AuditRow
from tests.test_rest_seed_004 import BASE, auth, paid

STAFF = "staff@example.com"


async def test_a_refund_with_an_overlong_request_id_succeeds_and_is_audited_under_the_id_answered(client, db,
                                                                                                 shop):
    # A 100-character X-Request-Id used to reach the audit insert raw on REST: after the provider
    # had refunded, PostgreSQL refused it (64 at most) and the client got a 500.
    number = await paid(client, db, shop)

    response = await client.post(f"{BASE}/refund/", json={"transaction_id": number, "amount": "1.00"},
                                 headers={**auth(shop, STAFF), "X-Request-Id": "r" * 100})

    assert response.status_code == 200, response.text
    answered = response.headers["x-request-id"]
    assert answered != "r" * 100 and len(answered) <= 64
    async with db.read_sessions() as session:
        ids = (await session.exec(select(AuditRow.request_id).where(AuditRow.action.like("payment.refund.%")))).all()
    assert ids == [answered]


async def test_a_plain_request_id_from_the_caller_is_kept_everywhere(client, db, shop):
    number = await paid(client, db, shop)

    response = await client.post(f"{BASE}/refund/", json={"transaction_id": number, "amount": "1.00"},
                                 headers={**auth(shop, STAFF), "X-Request-Id": "caller-id-42"})

    assert response.headers["x-request-id"] == "caller-id-42"
    async with db.read_sessions() as session:
        ids = (await session.exec(select(AuditRow.request_id).where(AuditRow.action.like("payment.refund.%")))).all()
    assert ids == ["caller-id-42"]
