"""billing customers and subscriptions (Stripe Billing)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUSES = "'incomplete','incomplete_expired','trialing','active','past_due','unpaid','paused','canceled'"


def upgrade() -> None:
    op.create_table('billing_customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('metadata_json', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_ref', name='uq_billing_customers_provider_ref'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('billing_customers', schema=None) as batch_op:
        batch_op.create_index('ix_billing_customers_user', ['user_id'], unique=False)

    op.create_table('billing_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('price_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest_invoice', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metadata_json', sa.JSON(), nullable=True),
    sa.Column('provider_state_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"status IN ({STATUSES})", name='ck_billing_subscriptions_status'),
    sa.CheckConstraint("current_period_end IS NULL OR current_period_start IS NULL "
                       "OR current_period_end >= current_period_start", name='ck_billing_subscriptions_period'),
    sa.ForeignKeyConstraint(['customer_id'], ['billing_customers.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_ref', name='uq_billing_subscriptions_provider_ref'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_billing_subscriptions_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_billing_subscriptions_user', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_subscriptions_user')
        batch_op.drop_index('ix_billing_subscriptions_customer')
    op.drop_table('billing_subscriptions')
    with op.batch_alter_table('billing_customers', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_customers_user')
    op.drop_table('billing_customers')
