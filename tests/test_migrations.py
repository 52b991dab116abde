"""The migrations build exactly the tables the models describe, up and down."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from tests.conftest import make_environ


def check_round_trip(database_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DATABASE_URL=database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == [], "run: flask --app portal db migrate -m '...'"
        assert "crisis_plans" in inspect(db.engine).get_table_names()

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    check_round_trip(f"sqlite:///{tmp_path / 'portal.db'}", tmp_path)


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    check_round_trip(postgres_url, tmp_path)


def test_the_partner_migration_keeps_every_row_that_points_at_the_tables_it_changes(tmp_path: Path) -> None:
    """On SQLite (foreign keys on), a migration that copies crisis_plans or cit_requests
    would delete their phones, name indexes and messages: up and down, nothing is lost."""
    from sqlalchemy import text

    from portal.demo import seed_demo

    app = create_app({"TESTING": True}, environ=make_environ(tmp_path))
    tables = ("crisis_plans", "plan_phones", "plan_name_indexes", "cit_requests", "request_messages")
    with app.app_context():
        upgrade()
        seed_demo()

        def counts() -> list[int]:
            return [db.session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in tables]  # noqa: S608

        before = counts()
        assert all(before), before
        db.session.commit()
        downgrade(revision="abc6612905cd")  # the revision before partners and hand-offs
        assert counts() == before
        db.session.commit()
        upgrade()
        assert counts() == before
        db.session.remove()
        db.engine.dispose()
