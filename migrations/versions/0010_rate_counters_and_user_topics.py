"""rateLimit counters and takes, user topics and their members

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('window_end', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.create_index('ix_rate_counters_window_end', ['window_end'], unique=False)

    op.create_table('rate_takes',
    sa.Column('take_id', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('window_end', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('take_id')
    )
    with op.batch_alter_table('rate_takes', schema=None) as batch_op:
        batch_op.create_index('ix_rate_takes_expires', ['expires_at'], unique=False)

    op.create_table('user_topics',
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', 'topic')
    )
    op.create_table('user_topic_members',
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', 'topic', 'user_id')
    )
    with op.batch_alter_table('user_topic_members', schema=None) as batch_op:
        batch_op.create_index('ix_user_topic_members_user', ['workspace_id', 'user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user_topic_members', schema=None) as batch_op:
        batch_op.drop_index('ix_user_topic_members_user')
    op.drop_table('user_topic_members')
    op.drop_table('user_topics')
    with op.batch_alter_table('rate_takes', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_takes_expires')
    op.drop_table('rate_takes')
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_counters_window_end')
    op.drop_table('rate_counters')
