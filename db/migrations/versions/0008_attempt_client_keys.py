"""the client's idempotency key on the attempt it started

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 18:00:00

A client that retries a refund with the same Idempotency-Key after an answer it never got (a 5xx,
a dropped connection) must resume the attempt it started, with that attempt's provider key, never
open a second one: the attempt remembers the key (hashed with the caller) that started it.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('payment_attempts') as batch:
        batch.add_column(sa.Column('client_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.create_unique_constraint('uq_payment_attempts_payment_client_key', ['payment_id', 'client_key'])


def downgrade() -> None:
    with op.batch_alter_table('payment_attempts') as batch:
        batch.drop_constraint('uq_payment_attempts_payment_client_key', type_='unique')
        batch.drop_column('client_key')
