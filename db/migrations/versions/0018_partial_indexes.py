"""indexes partial on what their readers look for; cart_items' redundant one dropped

Every flow (cart, checkout, payment) inserts a row into each of these tables, and an UPDATE that
changes an indexed column adds an entry to every index of its table: ~103 index entries a flow.
An index kept partial on the rows its readers look for takes none for the others (issue 16,
bench/README.md "PostgreSQL's side of the flow"):

- ix_cart_items_user: uq_cart_items_user_product (user_id, product_id) serves `user_id = ?`.
- ix_stock_reservations_live: only active reservations are summed (db/stock.py, LIVE); paying
  commits them, and the UPDATE adds no entry here.
- ix_payment_attempts_open: reconciliation's queue and the voids in flight, open attempts only;
  answering one adds no entry. Keyed (updated_at, id), the queue's order.
- ix_payment_attempts_kind_created: its only reader lists refunds, newest id first; now
  ix_payment_attempts_refunds (id, created_at), refunds only: the listing's order and cursor,
  and its date filter read from the index (SQLite without statistics scanned the whole table
  rather than sort what a (created_at) index gave it).
- ix_payments_provider_ref, ix_ledger_entries_parent, ix_ledger_postings_owner: NOT NULL only
  (read by `= :value` alone, which implies it); a new payment, a capture's entry and the
  platform's postings have none.
- ix_risk_assessments_review: pending reviews only (most assessments need none).
- uq_payment_attempts_payment_client_key, payment_attempts_number_key: UNIQUE constraints become
  unique indexes of the attempts that have a client's key, a number (most have neither: only
  refunds are numbered); NULLs never collided, the rule is the same.

Revision ID: 0018_partial_indexes
Revises: 0017_disputes_risk
Create Date: 2026-12-06 04:00:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0018_partial_indexes'
down_revision: Union[str, None] = '0017_disputes_risk'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _where(predicate: str) -> dict:
    return {'postgresql_where': sa.text(predicate), 'sqlite_where': sa.text(predicate)}


# (name, table, columns, predicate) after, and as it was before.
_AFTER = [
    ('ix_stock_reservations_live', 'stock_reservations', ['product_id', 'expires_at'], "state = 'active'"),
    ('ix_payment_attempts_open', 'payment_attempts', ['updated_at', 'id'], "status IN ('pending','unknown')"),
    ('ix_payment_attempts_refunds', 'payment_attempts', ['id', 'created_at'], "kind = 'refund'"),
    ('ix_payments_provider_ref', 'payments', ['provider', 'provider_ref'], 'provider_ref IS NOT NULL'),
    ('ix_ledger_entries_parent', 'ledger_entries', ['parent_ref'], 'parent_ref IS NOT NULL'),
    ('ix_ledger_postings_owner', 'ledger_postings', ['owner_id', 'account_kind'], 'owner_id IS NOT NULL'),
    ('ix_risk_assessments_review', 'risk_assessments', ['created_at'], "review = 'pending'"),
]
_BEFORE = [
    ('ix_cart_items_user', 'cart_items', ['user_id'], None),
    ('ix_stock_reservations_live', 'stock_reservations', ['product_id', 'state', 'expires_at'], None),
    ('ix_payment_attempts_open', 'payment_attempts', ['status', 'updated_at'], None),
    ('ix_payment_attempts_kind_created', 'payment_attempts', ['kind', 'created_at'], None),
    ('ix_payments_provider_ref', 'payments', ['provider', 'provider_ref'], None),
    ('ix_ledger_entries_parent', 'ledger_entries', ['parent_ref'], None),
    ('ix_ledger_postings_owner', 'ledger_postings', ['owner_id', 'account_kind'], None),
    ('ix_risk_assessments_review', 'risk_assessments', ['review', 'created_at'], None),
]


def _swap(drop: list, create: list) -> None:
    for name, table, _, _ in drop:
        op.drop_index(name, table_name=table)
    for name, table, columns, predicate in create:
        op.create_index(name, table, columns, unique=False, **(_where(predicate) if predicate else {}))


# (name, columns, predicate): UNIQUE constraints that become partial unique indexes.
_UNIQUE = [
    ('uq_payment_attempts_payment_client_key', ['payment_id', 'client_key'], 'client_key IS NOT NULL'),
    ('payment_attempts_number_key', ['number'], 'number IS NOT NULL'),
]
# 0004 left UNIQUE (number) unnamed; on SQLite batch mode names it by this convention to drop it
# (PostgreSQL named it payment_attempts_number_key itself).
_NAMING = {'uq': '%(table_name)s_%(column_0_name)s_key'}


def upgrade() -> None:
    _swap(_BEFORE, _AFTER)
    # A constraint is part of SQLite's table: batch mode rebuilds it without.
    with op.batch_alter_table('payment_attempts', naming_convention=_NAMING) as batch:
        for name, _, _ in _UNIQUE:
            batch.drop_constraint(name, type_='unique')
    for name, columns, predicate in _UNIQUE:
        op.create_index(name, 'payment_attempts', columns, unique=True, **_where(predicate))


def downgrade() -> None:
    for name, _, _ in _UNIQUE:
        op.drop_index(name, table_name='payment_attempts')
    with op.batch_alter_table('payment_attempts') as batch:
        for name, columns, _ in _UNIQUE:
            batch.create_unique_constraint(name, columns)
    _swap(_AFTER, _BEFORE)
