"""The console's name look-up: it finds a plan however the name is written (case, accents,
punctuation, spaces, word order) and by the name the person likes to be called with their
family name; it needs the date of birth; names are searched through keyed hashes only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, Table, column, func, insert, inspect, select, table, text

from portal.crypto import vault
from portal.database import utcnow
from portal.extensions import db
from portal.plans.models import CrisisPlan, PlanNameIndex
from portal.plans.names import name_words, plan_keys, search_keys
from portal.plans.services import file_plan, find_plan_by_reference, update_plan, withdraw_plan
from tests.console_helpers import csrf_token, signed_in_dispatcher

AN = ("Nguyễn Văn An", date(1972, 3, 4))
DANIEL = ("Daniel Okafor-Brandt", date(1990, 6, 15))
BEFORE_THIS_LOOK_UP = "b7d41c9e2a58"  # the revision before plan_name_indexes


def details(name: str, born: date, preferred: str = "") -> dict[str, object]:
    return {
        "person": {"name": name, "preferred_name": preferred, "birth_date": born.isoformat()},
        "crisis": {"what_helps": "A quiet voice"},
    }


def file(app: Flask, name: str, born: date, preferred: str = "", phone: str = "+13145550140") -> str:
    with app.app_context():
        plan = file_plan(
            details(name, born, preferred),
            name=name,
            born=born,
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[(phone, "person")],
        )
        db.session.commit()
        return plan.reference


@pytest.fixture
def dispatcher(any_database_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(any_database_app)


def search(client: FlaskClient, name: str = "", born: date | str | None = None, **other: str) -> str:
    data = {"csrf_token": csrf_token(client, "/console/plans"), "name": name, **other}
    data["birth_date"] = born.isoformat() if isinstance(born, date) else (born or "")
    response = client.post("/console/plans", data=data)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_name_is_found_without_case_accents_punctuation_or_extra_spaces(
    any_database_app: Flask, dispatcher: FlaskClient
) -> None:
    reference = file(any_database_app, *AN)
    born = AN[1]
    for typed in (
        "Nguyễn Văn An",
        "nguyen van an",
        "NGUYEN  Van-An",
        "Nguyen Van An.",
        " nguyễn,  văn   an ",
        "Van An Nguyen",  # the family name written last
        "Nguyen Van-An",
    ):
        page = search(dispatcher, typed, born)
        assert "1 plan found" in page and reference in page, typed
    for typed, when in (("Nguyen Van An", date(1972, 3, 5)), ("Nguyen Van", born), ("Nguyen Van Anh", born)):
        page = search(dispatcher, typed, when)
        assert "0 plans found" in page and reference not in page, (typed, when)


def test_the_name_they_like_to_be_called_finds_the_plan_with_the_family_name(
    any_database_app: Flask, dispatcher: FlaskClient
) -> None:
    reference = file(any_database_app, *DANIEL, preferred="Danny")
    _name, born = DANIEL
    for typed in (
        "Danny Okafor-Brandt",
        "danny okafor brandt",
        "Daniel Okafor-Brandt",
        "Okafor-Brandt Danny",
    ):
        page = search(dispatcher, typed, born)
        assert "1 plan found" in page and reference in page, typed
    for typed, when in (("Danny", born), ("Danny Okafor-Brandt", date(1990, 6, 16)), ("Okafor-Brandt", born)):
        page = search(dispatcher, typed, when)
        assert "0 plans found" in page and reference not in page, (typed, when)


def test_a_preferred_name_that_is_a_full_name_finds_the_plan_alone(any_database_app: Flask) -> None:
    with any_database_app.app_context():
        born = date(1950, 1, 2)
        keys = plan_keys("Margarethe Schäfer", born, "Maggie Shepherd")
        for typed in ("maggie shepherd", "Shepherd, Maggie", "Margarethe Schafer"):
            assert search_keys(typed, born) & keys, typed
        assert not search_keys("Maggie", born) & keys
        assert not search_keys("Maggie Shepherd", date(1950, 1, 3)) & keys


def test_letters_that_do_not_decompose_are_written_plainly(any_database_app: Flask) -> None:
    born = date(1985, 11, 30)
    reference = file(any_database_app, "Đorđe Šišić", born, phone="+13145550141")
    other = file(any_database_app, "Søren Weiß-Ødegård", born, phone="+13145550142")
    with any_database_app.app_context():
        assert name_words("Đặng Thị Hồng") == ("dang", "thi", "hong")
        assert name_words("O’Brien, J.R.") == ("obrien", "jr")
        for typed in ("Dorde Sisic", "Djordje Sisic", "đorđe šišić", "DJORDJE ŠIŠIĆ"):
            assert [plan.reference for plan in find(typed, born)] == [reference], typed
        for typed in ("Soren Weiss-Odegard", "soren weiss odegard", "Søren Weiß Ødegård"):
            assert [plan.reference for plan in find(typed, born)] == [other], typed


def find(name: str, born: date) -> list[CrisisPlan]:
    from portal.plans.services import find_plans_by_name_and_birth

    return find_plans_by_name_and_birth(name, born)


def test_a_name_without_a_date_of_birth_is_refused_with_the_reason(dispatcher: FlaskClient) -> None:
    page = search(dispatcher, "Nguyen Van An")
    assert "Enter the date of birth too: a name alone does not find a plan." in page
    assert 'value="Nguyen Van An"' in page, "the typed name is kept"
    assert "found" not in page


def test_an_empty_search_is_refused_with_a_message(dispatcher: FlaskClient) -> None:
    for data in ({}, {"name": "   "}, {"name": " - . ' "}, {"phone": "  ", "reference": " "}):
        page = search(dispatcher, **data)
        assert "Enter a phone number, a plan code, or a name and date of birth to search." in page, data
        assert "found" not in page, data
    page = search(dispatcher, "", date(1972, 3, 4))
    assert "Enter the name too: a date of birth alone does not find a plan." in page
    assert "found" not in page


def test_phone_and_plan_code_still_find_a_plan_alone(
    any_database_app: Flask, dispatcher: FlaskClient
) -> None:
    reference = file(any_database_app, *AN, phone="+13145550143")
    assert reference in search(dispatcher, phone="(314) 555-0143")
    assert reference in search(dispatcher, reference=reference.lower())


def test_an_edit_writes_the_names_again_and_a_withdrawal_deletes_them(any_database_app: Flask) -> None:
    reference = file(any_database_app, *DANIEL, preferred="Danny")
    name, born = DANIEL
    with any_database_app.app_context():
        plan = find_plan_by_reference(reference)
        assert plan is not None
        update_plan(
            plan,
            details(name, born, "Dee"),
            name=name,
            born=born,
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[("+13145550140", "person")],
        )
        db.session.commit()
        assert find("Dee Okafor-Brandt", born) == [plan]
        assert find("Danny Okafor-Brandt", born) == []
        assert find("Daniel Okafor-Brandt", born) == [plan]
        assert db.session.scalar(select(func.count()).select_from(PlanNameIndex)) == len(
            plan_keys(name, born, "Dee")
        )
        withdraw_plan(plan)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PlanNameIndex)) == 0


def test_no_name_is_stored_in_clear(any_database_app: Flask, dispatcher: FlaskClient, tmp_path: Path) -> None:
    references = [
        file(any_database_app, *AN, phone="+13145550144"),
        file(any_database_app, *DANIEL, preferred="Danny", phone="+13145550145"),
    ]
    # Searching records the search, never what was typed.
    search(dispatcher, "nguyen van an", AN[1])
    search(dispatcher, "danny okafor brandt", DANIEL[1])
    search(dispatcher, "Danny Okafor")
    secrets = ["Nguyễn", "Nguyen", "nguyen", "Văn", "Okafor", "okafor", "Brandt", "brandt", "Danny", "danny"]
    with any_database_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlanNameIndex)) > 4
        db.session.remove()
        stored = []
        with db.engine.connect() as connection:
            for name in inspect(connection).get_table_names():
                raw = Table(name, MetaData(), autoload_with=connection)  # plain types: nothing decrypted
                stored.extend(repr(tuple(row)) for row in connection.execute(select(raw)))
        db.engine.dispose()
    everything = "\n".join(stored)
    assert all(reference in everything for reference in references), "every row was read"
    assert "name:" not in everything
    for secret in secrets:
        assert secret not in everything, secret
    for path in tmp_path.glob("portal.db*"):  # SQLite: the file itself, journal included
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path.name, secret)


def test_the_migration_indexes_the_plans_filed_before_it(any_database_app: Flask) -> None:
    name, born = DANIEL
    old_index = "name-birth:daniel okafor-brandt|1990-06-15"
    with any_database_app.app_context():
        downgrade(revision=BEFORE_THIS_LOOK_UP)
        now = utcnow()
        # The table as it was then: the model's later columns (and their defaults) left out.
        then = table(
            "crisis_plans",
            *(
                column(name, CrisisPlan.__table__.c[name].type)  # encrypted, UTC, as the model
                for name in (
                    "reference",
                    "language",
                    "cit_requested",
                    "filed_by",
                    "details",
                    "name_birth_index",
                    "created_at",
                    "confirmed_at",
                )
            ),
        )
        db.session.execute(
            insert(then).values(
                reference="K7QM-3XPA",
                language="en",
                cit_requested=True,
                filed_by="self",
                details=details(name, born, "Danny"),
                name_birth_index=vault().blind_index(old_index),
                created_at=now,
                confirmed_at=now,
            )
        )
        db.session.commit()
        upgrade()
        for typed in ("Danny Okafor-Brandt", "daniel okafor brandt"):
            assert [plan.reference for plan in find(typed, born)] == ["K7QM-3XPA"], typed
        assert find("Danny", born) == []
        stored = db.session.scalars(select(CrisisPlan.name_birth_index)).one()
        assert stored == vault().blind_index("name:danielokaforbrandt|1990-06-15")
        db.session.commit()

        downgrade(revision=BEFORE_THIS_LOOK_UP)
        stored = db.session.execute(text("SELECT name_birth_index, details FROM crisis_plans")).one()
        assert stored[0] == vault().blind_index(old_index), "the old look-up works again"
        assert json.loads(vault().decrypt(stored[1].encode()))["person"]["preferred_name"] == "Danny"
        db.session.commit()
        upgrade()
