"""Alembic environment, run through Flask-Migrate (`flask --app portal db ...`)."""

import logging

from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config
# Logging is create_app's (portal/logs.py: JSON lines), here as in every other command;
# alembic.ini's plain-text logging sections would replace it.
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Write our column types (encrypted text, UTC datetimes) as the plain types they
    store, so that migrations never import application code that may change."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{impl!r}"
    return False


def run_migrations_offline():
    context.configure(
        url=db.engine.url, target_metadata=db.metadata, literal_binds=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=db.metadata, render_item=render_item, **conf_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
