"""worker error count for healthz

Revision ID: 4f2a9c7e1b03
Revises: 9c3e5d1a7b24
Create Date: 2026-11-26 11:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '4f2a9c7e1b03'
down_revision = '9c3e5d1a7b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('errors', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('errors')
