"""pending_wait_types: the pending waits by event type, and waits by fulfilling event (issue 22)

Persisting events used to read every pending wait of the workspace and every wait it ever
fulfilled, so a flush slowed down, and the worker's memory grew, with the runs parked in the
workspace. It now reads the pending waits of the persisted events' types (this table, one row
per type of a pending wait) and the waits fulfilled by those very events (ix_waits_event_id).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

MAX_TYPE = 300  # events.type


def upgrade() -> None:
    table = op.create_table('pending_wait_types',
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=MAX_TYPE), nullable=False),
    sa.Column('wait_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', 'event_type', 'wait_id')
    )
    op.create_index('ix_waits_event_id', 'waits', ['event_id'], unique=False)
    waits = sa.table('waits', sa.column('id', sa.String()), sa.column('workspace_id', sa.String()),
                     sa.column('event_types', sa.JSON()), sa.column('status', sa.String()))
    bind = op.get_bind()
    rows = [{"workspace_id": wait.workspace_id, "event_type": event_type, "wait_id": wait.id}
            for wait in bind.execute(sa.select(waits).where(waits.c.status == 'pending'))
            for event_type in sorted(set(wait.event_types or [])) if len(event_type) <= MAX_TYPE]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index('ix_waits_event_id', table_name='waits')
    op.drop_table('pending_wait_types')
