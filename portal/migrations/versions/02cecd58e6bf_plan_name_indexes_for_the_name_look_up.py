"""plan_name_indexes: the keyed hashes the console's name look-up finds a plan by

Each plan gets several: its full name and the name the person likes to be called with
their family name, without case, accents, punctuation or word order, each with the date of
birth. The upgrade writes them for the plans already filed, decrypting each plan once with
the app's keys; crisis_plans.name_birth_index is written again in the new form too. The
downgrade writes name_birth_index back in the old form (case and spaces ignored).

The name forms are copied here from portal/plans/names.py as they are at this revision, so
that this migration does not change when the app's code does (see env.py). A later change
to those forms needs a migration of its own that writes the indexes again.

Revision ID: 02cecd58e6bf
Revises: b7d41c9e2a58
Create Date: 2026-11-27 12:00:00.000000

"""
import json
import re
import unicodedata
from datetime import date

from alembic import op
import sqlalchemy as sa
from anyascii import anyascii
from flask import current_app

# revision identifiers, used by Alembic.
revision = '02cecd58e6bf'
down_revision = 'b7d41c9e2a58'
branch_labels = None
depends_on = None


_JOINERS = re.compile(r"['`.]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _name_words(name):
    text = anyascii(unicodedata.normalize("NFKC", name)).lower()
    words = tuple(word for word in _SEPARATORS.split(_JOINERS.sub("", text)) if word)
    if len(words) > 2 and words[-1] in _SUFFIXES:
        words = words[:-1]
    return words


def _spellings(name):
    found = {_name_words(name)}
    if "đ" in name.casefold():
        found.add(_name_words(re.sub("[đĐ]", "dj", name)))
    return found - {()}


def _forms(words):
    return {"".join(words), " ".join(sorted(words))}


def _name_key(form, born):
    return f"name:{form}|{born.isoformat()}"


def _plan_keys(name, born, preferred_name):
    names = set(_spellings(name))
    for full in _spellings(name):
        for preferred in _spellings(preferred_name):
            if len(preferred) > 1:
                names.add(preferred)
            for cut in range(1, len(full)):
                names.add(preferred + full[cut:])
                names.add(full[:cut] + preferred)
    return {_name_key(form, born) for words in names for form in _forms(words)}


def _old_birth_index_key(name, born):
    return "name-birth:" + " ".join(name.casefold().split()) + "|" + born.isoformat()


crisis_plans = sa.table(
    'crisis_plans',
    sa.column('id', sa.Integer()),
    sa.column('details', sa.Text()),
    sa.column('name_birth_index', sa.String(length=64)),
)
plan_name_indexes = sa.table(
    'plan_name_indexes',
    sa.column('plan_id', sa.Integer()),
    sa.column('name_index', sa.String(length=64)),
)


def _people():
    """(plan id, full name, date of birth, preferred name) of every plan that has them."""
    if op.get_context().as_sql:  # `db upgrade --sql` writes SQL: it reads no rows
        return
    vault = current_app.extensions["vault"]
    rows = op.get_bind().execute(sa.select(crisis_plans.c.id, crisis_plans.c.details)).all()
    for plan_id, token in rows:
        person = json.loads(vault.decrypt(token.encode())).get("person") or {}
        try:
            born = date.fromisoformat(str(person.get("birth_date") or ""))
        except ValueError:
            continue
        name = str(person.get("name") or "")
        if name.strip():
            yield plan_id, name, born, str(person.get("preferred_name") or "")


def upgrade():
    op.create_table('plan_name_indexes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('name_index', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['crisis_plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'name_index')
    )
    with op.batch_alter_table('plan_name_indexes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_name_indexes_name_index'), ['name_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_name_indexes_plan_id'), ['plan_id'], unique=False)

    vault = current_app.extensions["vault"] if not op.get_context().as_sql else None
    bind = op.get_bind()
    for plan_id, name, born, preferred in _people():
        indexes = sorted({vault.blind_index(key) for key in _plan_keys(name, born, preferred)})
        bind.execute(plan_name_indexes.insert(), [{"plan_id": plan_id, "name_index": index} for index in indexes])
        full = vault.blind_index(_name_key("".join(_name_words(name)), born))
        bind.execute(crisis_plans.update().where(crisis_plans.c.id == plan_id).values(name_birth_index=full))


def downgrade():
    vault = current_app.extensions["vault"] if not op.get_context().as_sql else None
    bind = op.get_bind()
    for plan_id, name, born, _preferred in _people():
        old = vault.blind_index(_old_birth_index_key(name, born))
        bind.execute(crisis_plans.update().where(crisis_plans.c.id == plan_id).values(name_birth_index=old))

    with op.batch_alter_table('plan_name_indexes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_name_indexes_plan_id'))
        batch_op.drop_index(batch_op.f('ix_plan_name_indexes_name_index'))

    op.drop_table('plan_name_indexes')
