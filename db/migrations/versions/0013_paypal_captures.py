"""paypal captures

Revision ID: 0013_paypal_captures
Revises: 0009
Create Date: 2026-12-05 19:10:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013_paypal_captures'
down_revision: Union[str, None] = '0016_email_outbox'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('paypal_captures',
    sa.Column('capture_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('capture_id')
    )
    with op.batch_alter_table('paypal_captures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paypal_captures_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('paypal_captures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paypal_captures_order_id'))
    op.drop_table('paypal_captures')
