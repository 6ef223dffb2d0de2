"""payments, attempts, refund requests and the ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:03:01.490997
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('parent_ref', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('memo', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'ref', name='uq_ledger_entries_kind_ref')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_created', ['created_at'], unique=False)
        batch_op.create_index('ix_ledger_entries_parent', ['parent_ref'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('account_kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("side IN ('debit','credit')", name='ck_ledger_postings_side'),
    sa.CheckConstraint('amount_minor > 0', name='ck_ledger_postings_amount_positive'),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_account', ['account', 'entry_id'], unique=False)
        batch_op.create_index('ix_ledger_postings_entry', ['entry_id'], unique=False)
        batch_op.create_index('ix_ledger_postings_owner', ['owner_id', 'account_kind'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('capture_method', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('authorized_minor', sa.BigInteger(), nullable=False),
    sa.Column('captured_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('card_brand', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('card_last4', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('card_exp_month', sa.Integer(), nullable=True),
    sa.Column('card_exp_year', sa.Integer(), nullable=True),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('client_secret', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('decline_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decline_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('requires_payment_method','requires_action','processing','requires_capture','succeeded','canceled','failed')", name='ck_payments_status'),
    sa.CheckConstraint('amount_minor > 0', name='ck_payments_amount_positive'),
    sa.CheckConstraint('authorized_minor <= amount_minor', name='ck_payments_authorized_within_amount'),
    sa.CheckConstraint('captured_minor <= authorized_minor', name='ck_payments_captured_within_authorized'),
    sa.CheckConstraint('refunded_minor >= 0 AND refunded_minor <= captured_minor', name='ck_payments_refunded_within_captured'),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_buyer_created', ['buyer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_order', ['order_id'], unique=False)
        batch_op.create_index('ix_payments_provider_ref', ['provider', 'provider_ref'], unique=False)
        batch_op.create_index('ix_payments_status_created', ['status', 'created_at'], unique=False)

    op.create_table('payment_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('decline_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('authorize','capture','void','refund')", name='ck_payment_attempts_kind'),
    sa.CheckConstraint("status IN ('pending','succeeded','failed','unknown')", name='ck_payment_attempts_status'),
    sa.CheckConstraint('amount_minor >= 0', name='ck_payment_attempts_amount_not_negative'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('payment_id', 'seq', name='uq_payment_attempts_payment_seq'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_payment_attempts_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index('ix_payment_attempts_open', ['status', 'updated_at'], unique=False)

    op.create_table('refund_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('refund_attempt_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending','approved','rejected')", name='ck_refund_requests_status'),
    sa.CheckConstraint('amount_minor > 0', name='ck_refund_requests_amount_positive'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.ForeignKeyConstraint(['refund_attempt_id'], ['payment_attempts.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.create_index('ix_refund_requests_payment', ['payment_id'], unique=False)
        batch_op.create_index('ix_refund_requests_status_created', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_requests_status_created')
        batch_op.drop_index('ix_refund_requests_payment')

    op.drop_table('refund_requests')
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_attempts_open')
        batch_op.drop_index('ix_payment_attempts_kind_created')

    op.drop_table('payment_attempts')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_created')
        batch_op.drop_index('ix_payments_provider_ref')
        batch_op.drop_index('ix_payments_order')
        batch_op.drop_index('ix_payments_buyer_created')

    op.drop_table('payments')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_owner')
        batch_op.drop_index('ix_ledger_postings_entry')
        batch_op.drop_index('ix_ledger_postings_account')

    op.drop_table('ledger_postings')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_parent')
        batch_op.drop_index('ix_ledger_entries_created')

    op.drop_table('ledger_entries')
