"""files: workspace files, their bytes in the blobs table (issue 20)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('files',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('mimetype', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('blob_id', sa.String(length=36), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('share_token_digest', sa.String(length=64), nullable=True),
    sa.Column('metadata', JSON, nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index('ix_files_ws_created', ['workspace_id', 'created_at'], unique=False)
        batch_op.create_index('ix_files_expires', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('files')
