"""events: (workspace_id, seq) index for newest-first searches and live tailing

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:40:00.000000
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_ws_seq', ['workspace_id', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_ws_seq')
