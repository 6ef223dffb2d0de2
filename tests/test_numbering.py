"""The numbers the database writes with a new row (db/numbering.py) are domain/numbers.py's, on
both backends: every id of the first thousands, and ids around each power of two up to the SQL
limit; past the limit NULL (Python numbers those)."""
from __future__ import annotations

from sqlalchemy import BigInteger, bindparam
from sqlalchemy import select as core_select

from db.numbering import number_sql, sql_limit
from domain.numbers import ORDER_NUMBER, PAYMENT_NUMBER, REFUND_NUMBER

IDS = sorted({*range(1, 3000), *(2**k + d for k in range(12, 34) for d in (-1, 0, 1))})


async def test_the_numbers_computed_in_sql_are_the_domains_own(db):
    row_id = bindparam("row_id", type_=BigInteger)
    async with db.engine.connect() as conn:
        for scheme in (ORDER_NUMBER, PAYMENT_NUMBER, REFUND_NUMBER):
            statement = core_select(number_sql(scheme, row_id))
            got = {i: (await conn.execute(statement, {"row_id": i})).scalar_one() for i in IDS}

            assert got == {i: scheme(i) if i < sql_limit(scheme) else None for i in IDS}, scheme.prefix
