"""runs: one record per automation run (issue 19)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('workflow_id', sa.String(length=400), nullable=False),
    sa.Column('temporal_run_id', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('automation', sa.String(length=300), nullable=False),
    sa.Column('instance', sa.String(length=300), server_default='', nullable=False),
    sa.Column('trigger_type', sa.String(length=32), nullable=False),
    sa.Column('trigger_value', sa.String(length=300), nullable=True),
    sa.Column('correlation_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('rerun_of', sa.String(length=32), nullable=True),
    sa.Column('input', JSON, nullable=True),
    sa.Column('output', JSON, nullable=True),
    sa.Column('error', JSON, nullable=True),
    sa.Column('trace', JSON, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_ws_started', ['workspace_id', 'started_at'], unique=False)
        batch_op.create_index('ix_runs_ws_status', ['workspace_id', 'status'], unique=False)
        batch_op.create_index('ix_runs_ws_automation', ['workspace_id', 'automation'], unique=False)
        batch_op.create_index('ix_runs_ws_correlation', ['workspace_id', 'correlation_id'], unique=False)
        batch_op.create_index('ix_runs_workflow', ['workflow_id'], unique=False)


def downgrade() -> None:
    op.drop_table('runs')
