"""events: app_depth column and the (workspace_id, type, ephemeral, app_depth) index (issue 20)

The event search (POST /v2/workspaces/{id}/search, docs/search.md) counts the events of a type
that a non-superadmin may read (persisted, app depth at most 1) from this index alone, without
reading the rows. ix_events_ws_type stays: it gives a type's events in log order (the pages).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SQLITE_BACKFILL = """
UPDATE events SET app_depth = CASE json_type(source, '$.appInstanceDepth')
    WHEN 'integer' THEN json_extract(source, '$.appInstanceDepth')
    ELSE CAST(json_extract(source, '$.appInstanceDepth') AS INTEGER)
         + (json_extract(source, '$.appInstanceDepth') > CAST(json_extract(source, '$.appInstanceDepth') AS INTEGER))
    END
WHERE json_type(source, '$.appInstanceDepth') IN ('integer', 'real')
"""
POSTGRES_BACKFILL = """
UPDATE events SET app_depth = CAST(LEAST(GREATEST(ceil(CAST(source ->> 'appInstanceDepth' AS numeric)),
                                                  -2147483648), 2147483647) AS integer)
WHERE jsonb_typeof(source -> 'appInstanceDepth') = 'number'
"""


def upgrade() -> None:
    op.add_column('events', sa.Column('app_depth', sa.Integer(), nullable=True))
    bind = op.get_bind()
    op.execute(SQLITE_BACKFILL if bind.dialect.name == 'sqlite' else POSTGRES_BACKFILL)
    op.create_index('ix_events_ws_type_visible', 'events', ['workspace_id', 'type', 'ephemeral', 'app_depth'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_ws_type_visible', table_name='events')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('app_depth')
