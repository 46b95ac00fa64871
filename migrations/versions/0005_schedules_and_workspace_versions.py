"""schedules and workspace versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:59:26.646616
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.String(length=400), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('instance', sa.String(length=300), nullable=False),
    sa.Column('automation', sa.String(length=200), nullable=False),
    sa.Column('cron', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.create_index('ix_schedules_workspace', ['workspace_id'], unique=False)

    op.create_table('workspace_versions',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('workspace_versions', schema=None) as batch_op:
        batch_op.create_index('ux_workspace_versions_name', ['workspace_id', 'name'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('workspace_versions', schema=None) as batch_op:
        batch_op.drop_index('ux_workspace_versions_name')

    op.drop_table('workspace_versions')
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_schedules_workspace')

    op.drop_table('schedules')
