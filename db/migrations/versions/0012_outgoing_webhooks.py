"""outgoing webhooks: the events' outbox, endpoints, deliveries and their log

Revision ID: 0012_outgoing_webhooks
Revises: 0009
Create Date: 2026-12-05 19:30:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012_outgoing_webhooks'
down_revision: Union[str, None] = '0010_jobs'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('outgoing_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msg_id', S(length=40), nullable=False),
    sa.Column('type', S(length=64), nullable=False),
    sa.Column('object_type', S(length=32), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fanned_out', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('msg_id'),
    )
    op.create_index('ix_outgoing_events_unfanned', 'outgoing_events', ['fanned_out', 'id'])
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', S(length=36), nullable=False),
    sa.Column('url', S(length=2048), nullable=False),
    sa.Column('description', S(length=256), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', S(length=64), nullable=False),
    sa.Column('previous_secret', S(length=64), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', S(length=256), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid'),
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('object_key', S(length=64), nullable=False),
    sa.Column('status', S(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending','succeeded','failed')", name='ck_webhook_deliveries_status'),
    sa.CheckConstraint('attempts >= 0', name='ck_webhook_deliveries_attempts'),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id']),
    sa.ForeignKeyConstraint(['event_id'], ['outgoing_events.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('endpoint_id', 'event_id', name='uq_webhook_deliveries_endpoint_event'),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_object', 'webhook_deliveries', ['endpoint_id', 'object_key', 'event_id'])
    op.create_table('webhook_delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', S(length=300), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_delivery_attempts_delivery', 'webhook_delivery_attempts', ['delivery_id', 'id'])


def downgrade() -> None:
    op.drop_table('webhook_delivery_attempts')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
    op.drop_table('outgoing_events')
