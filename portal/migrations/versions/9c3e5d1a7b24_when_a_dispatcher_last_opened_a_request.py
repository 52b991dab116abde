"""when a dispatcher last opened a request

Revision ID: 9c3e5d1a7b24
Revises: 02cecd58e6bf
Create Date: 2026-11-26 06:15:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '9c3e5d1a7b24'
down_revision = '02cecd58e6bf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cit_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatch_opened_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('cit_requests', schema=None) as batch_op:
        batch_op.drop_column('dispatch_opened_at')
