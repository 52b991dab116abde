"""partners, hand-offs, follow-ups; referrals on requests; the family's text choices on plans

Revision ID: 98279b26ab43
Revises: abc6612905cd
Create Date: 2026-11-26 14:39:20.944242

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '98279b26ab43'
down_revision = 'abc6612905cd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cit_request_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=300), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['cit_request_id'], ['cit_requests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_cit_request_id'), ['cit_request_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_follow_ups_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_partner_id'), ['partner_id'], unique=False)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cit_request_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=300), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_by', sa.String(length=300), nullable=True),
    sa.Column('disposition', sa.String(length=24), nullable=True),
    sa.Column('referral', sa.String(length=120), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cit_request_id'], ['cit_requests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoffs_cit_request_id'), ['cit_request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_partner_id'), ['partner_id'], unique=False)

    with op.batch_alter_table('cit_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral', sa.String(length=120), nullable=True))

    # Columns added in place (ALTER TABLE ... ADD COLUMN), never by batch mode's copy of
    # the table: on SQLite, with foreign keys on, dropping the old copy would delete every
    # row that points at it (a plan's phones, photo and name indexes; console sessions).
    # So: a plain string default (an SQL expression makes Alembic copy the table), and on
    # SQLite the foreign key in the ADD COLUMN itself.
    if op.get_bind().dialect.name == 'sqlite':  # Alembic will not; SQLite itself does
        op.execute('ALTER TABLE console_users ADD COLUMN partner_id INTEGER REFERENCES partners (id)')
    else:
        op.add_column('console_users', sa.Column('partner_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_console_users_partner_id_partners', 'console_users', 'partners', ['partner_id'], ['id']
        )
    for name in ('notify_on_open', 'notify_on_close', 'follow_up_consent'):
        op.add_column('crisis_plans', sa.Column(name, sa.Boolean(), server_default='0', nullable=False))



def downgrade():
    # SQLite drops a column in place (3.35 and later), keeping every row that points at
    # the table; batch mode's copy would delete them (see upgrade).
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, name in (
        ('crisis_plans', 'follow_up_consent'),
        ('crisis_plans', 'notify_on_close'),
        ('crisis_plans', 'notify_on_open'),
        ('cit_requests', 'referral'),
    ):
        if sqlite:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')
        else:
            op.drop_column(table, name)
    if sqlite:
        # SQLite cannot drop a column a foreign key uses: the table is copied, and the
        # console's sessions (which point at it) end.
        with op.batch_alter_table('console_users', schema=None) as batch_op:
            batch_op.drop_column('partner_id')
    else:
        op.drop_constraint('fk_console_users_partner_id_partners', 'console_users', type_='foreignkey')
        op.drop_column('console_users', 'partner_id')

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_partner_id'))
        batch_op.drop_index(batch_op.f('ix_handoffs_created_at'))
        batch_op.drop_index(batch_op.f('ix_handoffs_cit_request_id'))

    op.drop_table('handoffs')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_partner_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_due_at'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_cit_request_id'))

    op.drop_table('follow_ups')
    op.drop_table('partners')
