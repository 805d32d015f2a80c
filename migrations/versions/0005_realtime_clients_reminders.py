"""realtime clients and reminders that fire

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('socket_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_actions_due', ['fired_at', 'scheduled_time'], unique=False)


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index('ix_actions_due')
        batch_op.drop_column('fired_at')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('released_at')
        batch_op.drop_column('socket_seen_at')
