"""the person's note on a plan a family member filed

Revision ID: b7d41c9e2a58
Revises: 63bfbff8587d
Create Date: 2026-11-26 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b7d41c9e2a58'
down_revision = '63bfbff8587d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crisis_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('crisis_plans', schema=None) as batch_op:
        batch_op.drop_column('person_note')
