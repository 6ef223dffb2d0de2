"""Payment statistics: the same figures on REST (seed 003's admin statistics) and GraphQL
(`paymentStatistics`), per currency and never mixed, over real HTTP on both databases; their
cost in statements does not grow with the number of payments; and the adding up itself.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

from db.statistics_queries import payment_statistics
from domain.payments.statistics import Bucket, MoneyMoved, PaymentTally, StatisticsFilter, summarize
from tests.graphql import gql
from tests.payments_fixtures import order_for
from tests.test_rest_seed_003 import ADMIN, BASE, DECLINING, STAFF, auth, paid, pay

QUERY = """query($b: StatisticsBucket!, $c: String) { paymentStatistics(bucket: $b, currencyCode: $c) {
  bucket currencies { currency paymentCount volume { decimal } successRate refundRate
    byStatus { status count } byProvider { key succeeded failed successRate succeededVolume { decimal } }
    byMethod { key succeeded failed successRate }
    captured { decimal } refunded { decimal } revenue { decimal currency }
    series { periodStart captured { decimal } refunded { decimal } revenue { decimal } } } } }"""


async def business(client, db, shop) -> None:
    """USD: 29.98 paid, 10.00 of it refunded, 14.99 declined; JPY: 1500 paid."""
    usd = await paid(client, db, shop, {"SAM-MUG-01": 2})
    await paid(client, db, shop, {"SORA-TEA-01": 1})
    declined = await pay(client, shop, (await order_for(db, shop, {"SAM-MUG-01": 1})).id, DECLINING)
    assert declined.status_code == 402
    refunded = await client.post(f"{BASE}/admin/{usd['id']}/refund", json={"amount": "10.00", "reason": "dent"},
                                 headers=auth(shop, ADMIN))
    assert refunded.status_code == 200, refunded.text


async def test_rest_statistics_give_each_currency_its_own_figures(client, db, shop):
    await business(client, db, shop)
    today = datetime.now(UTC).date()

    response = await client.get(f"{BASE}/admin/statistics", headers=auth(shop, ADMIN))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["currencies"]) == {"USD", "JPY"}
    usd, jpy = body["currencies"]["USD"], body["currencies"]["JPY"]
    assert (usd["payment_count"], usd["volume"], usd["by_status"], usd["success_rate"]) == (
        2, "44.97", {"succeeded": 1, "failed": 1}, "0.5000")
    assert usd["by_provider"] == {"dummy": {"succeeded": 1, "failed": 1, "success_rate": "0.5000",
                                            "succeeded_volume": "29.98"}}
    assert usd["by_method"]["visa"]["succeeded"] == 1
    assert (usd["captured"], usd["refunded"], usd["revenue"], usd["refund_rate"]) == (
        "29.98", "10.00", "19.98", "0.3336")
    assert usd["revenue_series"] == [{"period_start": today.isoformat(), "captured": "29.98",
                                      "refunded": "10.00", "revenue": "19.98"}]
    assert (jpy["payment_count"], jpy["volume"], jpy["captured"], jpy["revenue"], jpy["refund_rate"]) == (
        1, "1500", "1500", "1500", "0.0000")
    from tests.test_rest_seed_003 import documented
    await documented(client, "get", f"{BASE}/admin/statistics", response)


async def test_rest_statistics_filter_by_currency_and_dates_and_bucket_by_month(client, db, shop):
    await business(client, db, shop)
    today = datetime.now(UTC).date()

    monthly = await client.get(f"{BASE}/admin/statistics", params={"bucket": "month", "currency": "usd"},
                               headers=auth(shop, STAFF))
    before = await client.get(f"{BASE}/admin/statistics", params={"date_to": "2020-01-01"}, headers=auth(shop, STAFF))

    assert list(monthly.json()["currencies"]) == ["USD"]
    assert [b["period_start"] for b in monthly.json()["currencies"]["USD"]["revenue_series"]] == [
        today.replace(day=1).isoformat()]
    assert before.json()["currencies"] == {}


async def test_graphql_payment_statistics_answers_the_same_figures_as_rest(client, db, shop):
    await business(client, db, shop)

    rest = (await client.get(f"{BASE}/admin/statistics", params={"bucket": "week"}, headers=auth(shop, ADMIN))).json()
    body = await gql(client, QUERY, {"b": "WEEK"}, token=shop.token(STAFF))

    assert "errors" not in body, body
    found = {c["currency"]: c for c in body["data"]["paymentStatistics"]["currencies"]}
    for code, figures in rest["currencies"].items():
        mine = found[code]
        assert (mine["paymentCount"], mine["volume"]["decimal"], mine["successRate"], mine["refundRate"],
                mine["captured"]["decimal"], mine["refunded"]["decimal"], mine["revenue"]["decimal"]) == (
            figures["payment_count"], figures["volume"], figures["success_rate"], figures["refund_rate"],
            figures["captured"], figures["refunded"], figures["revenue"])
        assert {s["status"]: s["count"] for s in mine["byStatus"]} == figures["by_status"]
        assert [(b["periodStart"], b["revenue"]["decimal"]) for b in mine["series"]] == [
            (b["period_start"], b["revenue"]) for b in figures["revenue_series"]]
        assert mine["revenue"]["currency"] == code


async def test_graphql_payment_statistics_are_for_staff_only(client, shop):
    customer = await gql(client, QUERY, {"b": "DAY"}, token=shop.token("customer@example.com"), expect_status=403)
    anonymous = await gql(client, QUERY, {"b": "DAY"}, expect_status=401)

    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_statistics_cost_two_statements_whatever_the_number_of_payments(client, db, shop, statements):
    await paid(client, db, shop)
    with statements:
        small = await payment_statistics(db, StatisticsFilter())
    small_count = statements.count
    for _ in range(3):
        await business(client, db, shop)

    with statements:
        large = await payment_statistics(db, StatisticsFilter(), Bucket.WEEK)

    assert small_count == statements.count == 2
    assert large[-1].payment_count > small[0].payment_count  # the figures did grow


def test_summarize_never_mixes_currencies_and_buckets_by_iso_week_and_month():
    tallies = [PaymentTally("USD", "dummy", "visa", "succeeded", 3, 3_000), PaymentTally("USD", "stripe", "visa",
                                                                                          "failed", 1, 500),
               PaymentTally("JPY", "dummy", "visa", "succeeded", 2, 3_000)]
    moved = [MoneyMoved("USD", date(2026, 11, 30), False, 1_000), MoneyMoved("USD", date(2026, 12, 6), False, 2_000),
             MoneyMoved("USD", date(2026, 12, 6), True, 500), MoneyMoved("JPY", date(2026, 12, 1), False, 3_000)]

    weekly = {s.currency: s for s in summarize(tallies, moved, Bucket.WEEK)}
    monthly = {s.currency: s for s in summarize(tallies, moved, Bucket.MONTH)}

    assert list(weekly) == ["JPY", "USD"]
    usd = weekly["USD"]
    assert (usd.volume.minor, usd.captured.minor, usd.refunded.minor, usd.revenue.minor) == (3_500, 3_000, 500, 2_500)
    assert [(b.start, b.revenue.minor) for b in usd.series] == [(date(2026, 11, 30), 2_500)]  # Mon 30 Nov - Sun 6 Dec
    assert [(b.start, b.revenue.minor) for b in monthly["USD"].series] == [(date(2026, 11, 1), 1_000),
                                                                          (date(2026, 12, 1), 1_500)]
    assert str(usd.success_rate) == "0.7500" and str(usd.refund_rate) == "0.1667"
    assert [(r.key, r.succeeded, r.failed) for r in usd.by_provider] == [("dummy", 3, 0), ("stripe", 0, 1)]
    assert weekly["JPY"].revenue.minor == 3_000 and weekly["JPY"].revenue.code == "JPY"
