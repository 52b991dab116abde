"""API clients, responders and plan links for the officer card

Revision ID: abc6612905cd
Revises: 4f2a9c7e1b03
Create Date: 2026-11-26 14:00:07.715756

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'abc6612905cd'
down_revision = '4f2a9c7e1b03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('responders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('number_index', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number_index')
    )
    op.create_table('plan_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('cit_request_id', sa.Integer(), nullable=True),
    sa.Column('responder_id', sa.Integer(), nullable=True),
    sa.Column('issued_to', sa.String(length=120), nullable=False),
    sa.Column('api_client_id', sa.Integer(), nullable=True),
    sa.Column('issued_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=300), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['cit_request_id'], ['cit_requests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['crisis_plans.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responder_id'], ['responders.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('plan_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_links_cit_request_id'), ['cit_request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_links_plan_id'), ['plan_id'], unique=False)



def downgrade():
    with op.batch_alter_table('plan_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_links_plan_id'))
        batch_op.drop_index(batch_op.f('ix_plan_links_cit_request_id'))

    op.drop_table('plan_links')
    op.drop_table('responders')
    op.drop_table('api_clients')
