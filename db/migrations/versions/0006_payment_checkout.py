"""payments opened at the provider (checkout), with their clients' metadata; payments without an order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:20:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkout', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch_op.add_column(sa.Column('metadata_json', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('redirect_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True))
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            'ck_payments_checkout', "checkout IS NULL OR checkout IN ('elements','hosted','embedded')")


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('ck_payments_checkout', type_='check')
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('redirect_url')
        batch_op.drop_column('metadata_json')
        batch_op.drop_column('checkout')
