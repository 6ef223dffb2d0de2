"""disputes and risk assessments

Revision ID: 0017_disputes_risk
Revises: 0013_paypal_captures
Create Date: 2026-12-05 19:30:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017_disputes_risk'
down_revision: Union[str, None] = '0015_marketplace'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_minor', sa.BigInteger(), server_default='0', nullable=False))
    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('provider_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('withheld_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('evidence_due_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('inquiry','opened','evidence_due','under_review','won','lost','inquiry_closed')", name='ck_disputes_status'),
    sa.CheckConstraint('amount_minor > 0', name='ck_disputes_amount_positive'),
    sa.CheckConstraint('withheld_minor >= 0 AND withheld_minor <= amount_minor', name='ck_disputes_withheld'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_ref', name='uq_disputes_provider_ref'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index('ix_disputes_payment', 'disputes', ['payment_id'], unique=False)
    op.create_index('ix_disputes_status_created', 'disputes', ['status', 'created_at'], unique=False)
    op.create_table('risk_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('verdicts', sa.JSON(), nullable=False),
    sa.Column('review', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IN ('allow','review','block')", name='ck_risk_assessments_decision'),
    sa.CheckConstraint("review IN ('none','pending','approved','rejected')", name='ck_risk_assessments_review'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index('ix_risk_assessments_payment', 'risk_assessments', ['payment_id', 'id'], unique=False)
    op.create_index('ix_risk_assessments_review', 'risk_assessments', ['review', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_risk_assessments_review', table_name='risk_assessments')
    op.drop_index('ix_risk_assessments_payment', table_name='risk_assessments')
    op.drop_table('risk_assessments')
    op.drop_index('ix_disputes_status_created', table_name='disputes')
    op.drop_index('ix_disputes_payment', table_name='disputes')
    op.drop_table('disputes')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('disputed_minor')
