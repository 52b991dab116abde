"""The console's officer brief puts who to look for first: photo, age, appearance and
communication needs, then what helps, then the rest; and says who filed the plan."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from portal.dispatch.alerts import alert_text
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.segments import is_gsm7, segment_count
from portal.plans.models import CrisisPlan
from portal.plans.services import file_plan
from tests.console_helpers import csrf_token, signed_in_dispatcher

# portal/agency.toml: the agency is in St. Louis.
AGENCY_ZONE = ZoneInfo("America/Chicago")
APPEARANCE = "Tall, red cap, green backpack"
WHAT_HELPS = "Quiet voice, music"


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (300, 400), "#4a6d8c")
    image.paste("#f2d7b6", (90, 80, 210, 230))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def agency_today() -> date:
    return datetime.now(AGENCY_ZONE).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def new_plan(
    app: Flask,
    *,
    born: date,
    filed_by: str = "self",
    photo: bytes | None = None,
    phone: str = "+13145550171",
) -> str:
    details: dict[str, Any] = {
        "person": {
            "name": "Jordan Rivers",
            "preferred_name": "Jo",
            "pronouns": "they/them",
            "birth_date": born.isoformat(),
            "spoken_language": "ASL",
            "interpreter": "yes",
            "communication": ["deaf", "nonverbal"],
            "description": APPEARANCE,
        },
        "where": {"home_address": "4500 Main St"},
        "crisis": {
            "early_signs": "Paces and hums",
            "triggers": ["sirens"],
            "what_helps": WHAT_HELPS,
            "what_to_avoid": "Standing close",
            "weapons": "no",
        },
        "care": {"medications": "Lithium"},
        "people": {"emergency_contacts": "Mother, (314) 555-0133"},
    }
    with app.app_context():
        plan = file_plan(
            details,
            name="Jordan Rivers",
            born=born,
            language="en",
            cit_requested=True,
            filed_by=filed_by,
            phones=[(phone, "filer")],
            photo_jpeg=photo,
        )
        db.session.commit()
        return plan.reference


@pytest.fixture
def dispatcher(migrated_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(migrated_app)


def brief(dispatcher: FlaskClient, reference: str) -> str:
    token = csrf_token(dispatcher, "/console/plans")
    response = dispatcher.post(
        f"/console/plans/{reference}", data={"csrf_token": token, "reason": "call 24-1"}
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_brief_shows_the_photo_inline(dispatcher: FlaskClient, migrated_app: Flask) -> None:
    jpeg = photo_jpeg()
    page = brief(dispatcher, new_plan(migrated_app, born=date(1985, 2, 3), photo=jpeg))
    assert 'src="data:image/jpeg;base64,' + base64.b64encode(jpeg).decode() + '"' in page
    assert 'alt="Photo of Jordan Rivers"' in page


def test_without_a_photo_the_brief_says_so(dispatcher: FlaskClient, migrated_app: Flask) -> None:
    page = brief(dispatcher, new_plan(migrated_app, born=date(1985, 2, 3)))
    assert "data:image" not in page and "No photo on file" in page


def test_the_age_is_counted_on_the_agencys_day(dispatcher: FlaskClient, migrated_app: Flask) -> None:
    birthday_41 = years_before(agency_today(), 41)
    page = brief(dispatcher, new_plan(migrated_app, born=birthday_41 - timedelta(days=1)))
    assert "Age 41" in page
    page = brief(dispatcher, new_plan(migrated_app, born=birthday_41, phone="+13145550172"))
    assert "Age 41" in page, "on the birthday itself"
    page = brief(
        dispatcher, new_plan(migrated_app, born=birthday_41 + timedelta(days=1), phone="+13145550173")
    )
    assert "Age 40" in page and "Age 41" not in page, "the day before the birthday"


def test_a_birthday_starts_at_midnight_in_st_louis_not_in_utc(
    dispatcher: FlaskClient, migrated_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """02:30 UTC on 17 May is still 16 May, 9:30 PM, in St. Louis: not yet 36."""
    reference = new_plan(migrated_app, born=date(1990, 5, 17))
    monkeypatch.setattr("portal.console.plan_views.utcnow", lambda: datetime(2026, 5, 17, 2, 30, tzinfo=UTC))
    page = brief(dispatcher, reference)
    assert "Age 35" in page and "Age 36" not in page
    monkeypatch.setattr("portal.console.plan_views.utcnow", lambda: datetime(2026, 5, 17, 5, 30, tzinfo=UTC))
    assert "Age 36" in brief(dispatcher, reference)


def test_who_to_look_for_comes_before_what_helps(dispatcher: FlaskClient, migrated_app: Flask) -> None:
    page = brief(dispatcher, new_plan(migrated_app, born=date(1985, 2, 3), photo=photo_jpeg()))
    order = [
        "Officer brief",
        "data:image/jpeg",
        "Jordan Rivers",
        "prefers Jo",
        "they/them",
        "Age ",
        APPEARANCE,
        "Deaf or hard of hearing",
        "Does not speak, or speaks very little",
        "ASL",
        "Does the person need an interpreter?",
        "CIT officer requested",
        "What helps the person calm down",
        WHAT_HELPS,
        "What officers should avoid",
        "Sirens or flashing lights",
        "Are there weapons in the home?",
        "Paces and hums",
        "Mother, (314) 555-0133",
        "4500 Main St",
        "Lithium",
    ]
    positions = [page.find(text) for text in order]
    assert -1 not in positions, [text for text, at in zip(order, positions, strict=True) if at == -1]
    assert positions == sorted(positions), sorted(zip(positions, order, strict=True))


def test_several_choices_read_as_a_list_not_as_one_odd_sentence(
    dispatcher: FlaskClient, migrated_app: Flask
) -> None:
    """Two needs joined into "Deaf or hard of hearing and Does not speak, or speaks very little"
    read as one muddled need; an officer must see two."""
    page = brief(dispatcher, new_plan(migrated_app, born=date(1985, 2, 3)))
    assert "<li>Deaf or hard of hearing</li>" in page
    assert "<li>Does not speak, or speaks very little</li>" in page
    assert " and Does not speak" not in page


@pytest.mark.parametrize(
    ("filed_by", "shown", "not_shown"),
    [
        ("guardian", ["Filed by legal guardian"], ["Filed by a parent", "Not confirmed by the person"]),
        ("parent", ["Filed by a parent"], ["Filed by legal guardian", "Not confirmed by the person"]),
        ("family", ["Filed by family", "Not confirmed by the person"], ["Filed by legal guardian"]),
        ("self", [], ["Filed by", "Not confirmed by the person"]),
    ],
)
def test_the_brief_and_the_look_up_say_who_filed_the_plan(
    dispatcher: FlaskClient, migrated_app: Flask, filed_by: str, shown: list[str], not_shown: list[str]
) -> None:
    reference = new_plan(migrated_app, born=date(1985, 2, 3), filed_by=filed_by)
    token = csrf_token(dispatcher, "/console/plans")
    found = dispatcher.post("/console/plans", data={"csrf_token": token, "reference": reference})
    for page in (brief(dispatcher, reference), found.get_data(as_text=True)):
        assert all(text in page for text in shown), shown
        assert not any(text in page for text in not_shown), not_shown
    assert WHAT_HELPS not in found.get_data(as_text=True)


@pytest.mark.parametrize(
    ("filed_by", "mark"),
    [("guardian", ", filed by guardian"), ("parent", ", filed by parent"), ("self", None)],
)
def test_the_dispatch_alert_says_who_filed_and_nothing_more(
    migrated_app: Flask, filed_by: str, mark: str | None
) -> None:
    reference = new_plan(migrated_app, born=date(1985, 2, 3), filed_by=filed_by, photo=photo_jpeg())
    request = CitRequest(
        reference="R-WWWWWW",
        source="sms",
        callback_number="+13145550150",
        language="en",
        location="12345 Northwest Plaza Drive, St. Ann, by the bus stop behind the gas station " * 4,
        location_source="texted",
    )
    with migrated_app.test_request_context():
        from portal.plans.services import find_plan_by_reference

        body = alert_text(request, find_plan_by_reference(reference))
    plan_line = next(line for line in body.split("\n") if line.startswith("Crisis plan"))
    assert plan_line == f"Crisis plan {reference} on file, asks for CIT" + (mark or "")
    assert is_gsm7(body) and segment_count(body) <= 2
    for detail in ("Jordan", "Tall", "ASL", "Deaf", "Quiet", "1985"):
        assert detail not in body


def test_family_text_in_another_language_is_marked_with_it(
    dispatcher: FlaskClient, migrated_app: Flask
) -> None:
    reference = new_plan(migrated_app, born=date(1990, 1, 1))
    spanish = "No le grite, no lo toque y apague las sirenas cerca de la casa"
    with migrated_app.app_context():
        plan = db.session.scalars(select(CrisisPlan).where(CrisisPlan.reference == reference)).one()
        plan.details = {**plan.details, "crisis": {**plan.details["crisis"], "what_to_avoid": spanish}}
        db.session.commit()
    page = brief(dispatcher, reference)
    assert spanish in page and "(written in Spanish)" in page
    assert page.count("(written in") == 1, "English answers carry no mark"
