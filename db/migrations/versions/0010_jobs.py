"""background jobs: pgqueuer's tables on PostgreSQL, job_queue on SQLite

Revision ID: 0010_jobs
Revises: 0009
Create Date: 2026-12-05 19:30:00.000000

PostgreSQL gets pgqueuer's objects (queue, log, schedules, statistics, the NOTIFY trigger) in a
schema of their own, `jobs`, rendered by the pinned pgqueuer itself (db/jobs.py PGQUEUER). A later
pgqueuer release that changes its tables comes with a migration of ours that applies its upgrade.
SQLite gets our own table, `job_queue` (db/jobs.py), which `paygate serve` works off.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010_jobs'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _pg_script(sql: str) -> None:
    # Several statements and plpgsql bodies: asyncpg's simple-query execute takes them as one
    # script, inside the migration's transaction (SQLAlchemy's prepared path takes one statement).
    op.get_bind().connection.dbapi_connection.run_async(lambda conn: conn.execute(sql))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

        from db.jobs import PGQUEUER

        _pg_script(QueryBuilderEnvironment(PGQUEUER).build_install_query())
        return
    op.create_table('job_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_queue_due', 'job_queue', ['status', 'run_after'])
    op.create_index('uq_job_queue_dedupe_key', 'job_queue', ['dedupe_key'], unique=True,
                    sqlite_where=sa.text("status IN ('queued', 'picked')"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_script("DROP SCHEMA IF EXISTS jobs CASCADE")
        return
    op.drop_index('uq_job_queue_dedupe_key', table_name='job_queue')
    op.drop_index('ix_job_queue_due', table_name='job_queue')
    op.drop_table('job_queue')
