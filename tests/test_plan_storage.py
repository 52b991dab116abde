"""Crisis plans at rest: encrypted, found by phone however written, rotated, deleted."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.keys import rotate_all
from portal.plans.models import CrisisPlan, PlanDraft, PlanPhone, PlanPhoto
from portal.plans.services import (
    file_plan,
    find_plan_by_reference,
    find_plans_by_name_and_birth,
    find_plans_by_phone,
    withdraw_plan,
)
from tests.conftest import make_environ

CANARY = "CANARY-7f3a9c"


def canary_details() -> dict[str, object]:
    return {
        "person": {
            "name": f"Name {CANARY}",
            "preferred_name": f"Pref {CANARY}",
            "description": f"Tall {CANARY}",
        },
        "where": {"home_address": f"4500 Main St {CANARY}", "other_places": f"Park {CANARY}"},
        "crisis": {"triggers": f"Sirens {CANARY}", "what_helps": f"Music {CANARY}"},
        "care": {"diagnoses": f"Diagnosis {CANARY}", "medications": f"Medicine {CANARY}"},
        "people": {"emergency_contacts": f"Mother {CANARY}"},
    }


def file_canary_plan(phone: str = "+13145550100") -> CrisisPlan:
    plan = file_plan(
        canary_details(),
        name=f"Name {CANARY}",
        born=date(1990, 5, 17),
        language="es",
        cit_requested=True,
        filed_by="family",
        phones=[(phone, "filer"), ("+13145550177", "person")],
        photo_jpeg=b"\xff\xd8\xff" + CANARY.encode(),
    )
    db.session.commit()
    return plan


@pytest.mark.parametrize(
    "written", ["(314) 555-0100", "+13145550100", "314.555.0100", "1-314-555-0100", "3145550100"]
)
def test_plans_are_found_by_phone_however_it_is_written(migrated_app: Flask, written: str) -> None:
    with migrated_app.app_context():
        plan = file_canary_plan()
        assert [found.id for found in find_plans_by_phone(written)] == [plan.id]
        assert find_plans_by_phone("(314) 555-0199") == []
        assert find_plans_by_phone("not a number") == []


def test_plans_are_found_by_reference_and_by_name_and_birth_date(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        plan = file_canary_plan()
        assert find_plan_by_reference(plan.reference.lower().replace("-", "")) is plan
        assert find_plans_by_name_and_birth(f"  name   {CANARY.lower()} ", date(1990, 5, 17)) == [plan]
        assert find_plans_by_name_and_birth(f"Name {CANARY}", date(1990, 5, 18)) == []


def test_a_family_filed_plan_waits_for_the_person_to_confirm(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        plan = file_canary_plan()
        assert plan.person_confirmed_at is None
        assert plan.reference[4] == "-" and len(plan.reference) == 9


def test_no_plaintext_in_the_sqlite_file(migrated_app: Flask, tmp_path: Path) -> None:
    with migrated_app.app_context():
        file_canary_plan()
        db.engine.dispose()
    files = list(tmp_path.glob("portal.db*"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert CANARY.encode() not in data, path.name
        assert b"5550100" not in data and b"555-0100" not in data, path.name


@pytest.mark.postgres
def test_no_plaintext_in_a_postgresql_dump(postgres_url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_DATABASE_URL=postgres_url))
    with app.app_context():
        upgrade()
        file_canary_plan()
        db.engine.dispose()
    dump = subprocess.run(
        ["pg_dump", "--data-only", postgres_url.replace("+psycopg", "")], capture_output=True, check=True
    ).stdout
    assert b"COPY public.crisis_plans" in dump
    assert CANARY.encode() not in dump
    assert b"5550100" not in dump


def test_after_key_rotation_every_plan_reads_and_the_old_key_can_go(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=old))
    with before.app_context():
        upgrade()
        reference = file_canary_plan().reference
        db.engine.dispose()

    both = create_app(
        {"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=f"{new},{old}")
    )
    with both.app_context():
        assert rotate_all() >= 4  # details, two phones, photo
        db.engine.dispose()

    after = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_ENCRYPTION_KEYS=new))
    with after.app_context():
        plan = find_plan_by_reference(reference)
        assert plan is not None
        assert plan.details["care"]["medications"] == f"Medicine {CANARY}"
        assert sorted(phone.number for phone in plan.phones) == ["+13145550100", "+13145550177"]
        assert plan.photo is not None and plan.photo.jpeg.endswith(CANARY.encode())
        # The blind index does not depend on the encryption keys: look-up still works.
        assert find_plans_by_phone("314-555-0100") == [plan]


def test_the_keys_rotate_command(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        file_canary_plan()
    result = migrated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "Re-encrypted 4 values" in result.output


def test_withdrawal_leaves_no_row_of_the_plan(any_database_app: Flask) -> None:
    with any_database_app.app_context():
        plan = file_canary_plan()
        other = file_canary_plan(phone="+13145550155")
        db.session.add(PlanDraft(plan_id=plan.id, answers={"person": {"name": CANARY}}))
        db.session.commit()

        withdraw_plan(plan)
        db.session.commit()

        assert db.session.scalar(select(func.count()).select_from(CrisisPlan)) == 1
        assert db.session.scalar(select(func.count()).select_from(PlanPhone)) == 2  # the other plan's
        assert db.session.scalar(select(func.count()).select_from(PlanPhoto)) == 1
        assert db.session.scalar(select(func.count()).select_from(PlanDraft)) == 0
        assert find_plans_by_phone("+13145550100") == []
        assert find_plans_by_phone("+13145550155") == [other]


def test_seed_demo_adds_its_data_once_however_often_it_runs(migrated_app: Flask) -> None:
    from portal.dispatch.models import CitRequest

    def counts() -> tuple[int, int]:
        with migrated_app.app_context():
            plans = db.session.scalar(select(func.count()).select_from(CrisisPlan))
            requests = db.session.scalar(select(func.count()).select_from(CitRequest))
            return plans or 0, requests or 0

    runner = migrated_app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    after_first = counts()
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.output == second.output and "Demo crisis plan" in first.output
    # A year of requests and plans in every state, for the dashboard; none added again.
    assert after_first[0] > 1 and after_first[1] > 100
    assert counts() == after_first
    with migrated_app.app_context():
        assert len(find_plans_by_phone("(314) 555-0100")) == 1


def test_a_withdrawn_plan_leaves_no_copy_in_the_write_ahead_log(migrated_app: Flask, tmp_path: Path) -> None:
    from sqlalchemy import text

    from portal.plans.services import file_plan, withdraw_plan

    with migrated_app.app_context():
        plan = file_plan(
            {"care": {"diagnoses": "Canary"}},
            name="Pat Doe",
            born=date(1980, 1, 1),
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[("+13145550188", "person")],
        )
        db.session.commit()
        stored = db.session.execute(text("SELECT details FROM crisis_plans")).scalar_one()
        withdraw_plan(plan)
        db.session.commit()
    files = [tmp_path / "portal.db", tmp_path / "portal.db-wal"]
    assert all(stored.encode() not in path.read_bytes() for path in files if path.exists())
