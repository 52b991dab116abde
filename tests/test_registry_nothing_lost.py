"""What a family gives the registry is never silently dropped, and its answers are
checked the way a careful clerk would: the big button does what the small one does, a
browser restart keeps the draft, and the consent answers must fit the person."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import CrisisPlan
from tests.registry_helpers import CARE, CONSENT, CRISIS, PEOPLE, PERSON, WHERE, Registrant


@pytest.fixture
def registrant(migrated_app: Flask) -> Registrant:
    registrant = Registrant(migrated_app, migrated_app.test_client())
    assert registrant.post("/crisis-plan/start", {"action": "new"}).status_code == 302
    return registrant


def texts_to(app: Flask, number: str) -> int:
    with app.app_context():  # numbers are encrypted: compared once read
        return sum(message.to_number == number for message in db.session.scalars(select(OutboundMessage)))


def phones_page(registrant: Registrant, data: dict[str, str], path: str = "/crisis-plan/step/phones"):  # type: ignore[no-untyped-def]
    return registrant.post(path, data, token_from="/crisis-plan/step/phones")


def test_continue_with_a_typed_phone_adds_it_and_texts_its_code(registrant: Registrant) -> None:
    response = phones_page(registrant, {"action": "next", "add-number": "314-555-0177", "add-role": "person"})
    assert response.headers["Location"] == "/crisis-plan/step/phones"  # stays, to enter the code
    assert texts_to(registrant.app, "+13145550177") == 1
    page = registrant.client.get("/crisis-plan/step/phones").get_data(as_text=True)
    assert "(314) 555-0177" in page and "The person’s own phone" in page
    # With the box empty again, Continue goes on.
    assert phones_page(registrant, {"action": "next"}).headers["Location"] == "/crisis-plan/step/crisis"


def test_continue_with_a_number_missing_its_area_code_explains_on_the_same_step(
    registrant: Registrant,
) -> None:
    response = phones_page(registrant, {"action": "next", "add-number": "555-1234", "add-role": "filer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Add the area code, like (314) 555-0100." in page
    assert 'value="555-1234"' in page  # kept as typed
    assert texts_to(registrant.app, "+15551234") == 0
    invalid = phones_page(registrant, {"action": "add", "add-number": "(555) 555-1234", "add-role": "filer"})
    assert "Enter a phone number like (314) 555-0100." in invalid.get_data(as_text=True)


def test_a_typed_phone_survives_a_language_switch_and_back(registrant: Registrant) -> None:
    response = phones_page(
        registrant, {"switch_language": "vi", "add-number": "314 555 0142", "add-role": "filer"}
    )
    assert response.headers["Location"] == "/vi/crisis-plan/step/phones"
    page = registrant.client.get("/vi/crisis-plan/step/phones").get_data(as_text=True)
    assert 'value="314 555 0142"' in page
    filer_radio = re.search(r'<input[^>]*value="filer"[^>]*>', page)
    assert filer_radio and "checked" in filer_radio.group(0)
    phones_page(registrant, {"action": "back", "add-number": "314 555 0199", "add-role": "other"})
    assert 'value="314 555 0199"' in registrant.client.get("/crisis-plan/step/phones").get_data(as_text=True)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "navy").save(out, format="JPEG")
    return out.getvalue()


def test_continue_with_a_chosen_photo_uploads_it(registrant: Registrant) -> None:
    registrant.step("person", PERSON)
    response = registrant.post(
        "/crisis-plan/step/photo",
        {"action": "next", "photo": (io.BytesIO(jpeg()), "son.jpg")},
        content_type="multipart/form-data",
    )
    assert response.headers["Location"] == "/crisis-plan/step/where"
    stored = registrant.client.get("/crisis-plan/step/photo/image")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"


def test_a_photo_over_the_request_limit_stays_on_the_photo_step(registrant: Registrant) -> None:
    registrant.step("person", {**PERSON, "preferred_name": "Kept"})
    response = registrant.post(
        "/crisis-plan/step/photo",
        {"action": "next", "photo": (io.BytesIO(b"\xff\xd8" + b"0" * (30 * 1024 * 1024)), "huge.jpg")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "This photo is larger than 25 MB" in page
    assert 'type="file"' in page and "Step 1 of 7" in page
    assert 'value="Kept"' in registrant.client.get("/crisis-plan/step/person").get_data(as_text=True)


def test_the_draft_survives_a_browser_restart(migrated_app: Flask, registrant: Registrant) -> None:
    registrant.step("person", {**PERSON, "name": "Daniel Brooks"})
    cookie = registrant.client.get_cookie("plan_draft")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.max_age == 7 * 24 * 3600
    assert "Daniel" not in cookie.value
    # A restarted browser keeps only cookies with an expiry: the session cookie is gone.
    restarted = Registrant(migrated_app, migrated_app.test_client())
    restarted.client.set_cookie("plan_draft", cookie.value)
    start = restarted.client.get("/crisis-plan/start").get_data(as_text=True)
    assert "Continue your saved plan" in start
    restarted.post("/crisis-plan/start", {"action": "continue"})
    assert 'value="Daniel Brooks"' in restarted.client.get("/crisis-plan/step/person").get_data(as_text=True)


def finish_steps(registrant: Registrant) -> None:
    registrant.step("where", WHERE)
    registrant.add_phone("(314) 555-0100", "filer")
    registrant.verify_phone(0, registrant.last_code("+13145550100"))
    for slug, data in (("crisis", CRISIS), ("care", CARE), ("people", PEOPLE)):
        assert registrant.step(slug, data).status_code == 302


def years_ago(years: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def test_parent_of_a_minor_only_when_the_date_of_birth_says_so(registrant: Registrant) -> None:
    registrant.step("person", {**PERSON, "birth_date": "1985-06-01"})
    finish_steps(registrant)
    page = registrant.client.get("/crisis-plan/step/consent").get_data(as_text=True)
    assert "I am the parent of a child under 18" not in page
    refused = registrant.step("consent", {**CONSENT, "filed_by": "parent"})
    assert refused.status_code == 200
    assert "The date of birth says the person is 18 or older" in refused.get_data(as_text=True)

    registrant.step("person", {**PERSON, "birth_date": years_ago(15)})
    assert "I am the parent of a child under 18" in registrant.client.get(
        "/crisis-plan/step/consent"
    ).get_data(as_text=True)
    assert (
        registrant.step("consent", {**CONSENT, "filed_by": "parent"}).headers["Location"]
        == "/crisis-plan/review"
    )


def test_a_guardian_states_it_and_the_cit_question_must_be_answered(registrant: Registrant) -> None:
    registrant.step("person", PERSON)
    finish_steps(registrant)
    guardian = registrant.step("consent", {**CONSENT, "filed_by": "guardian"})
    assert "Confirm that a court made you the person’s legal guardian." in guardian.get_data(as_text=True)
    unanswered = registrant.step("consent", {"filed_by": "self", "language": "en"})
    assert "Choose whether dispatch should send a CIT officer." in unanswered.get_data(as_text=True)
    stated = registrant.step("consent", {**CONSENT, "filed_by": "guardian", "guardian_statement": "y"})
    assert stated.headers["Location"] == "/crisis-plan/review"


def test_check_your_answers_then_file(migrated_app: Flask, registrant: Registrant) -> None:
    registrant.step("person", PERSON)
    finish_steps(registrant)
    registrant.step("consent", {**CONSENT, "cit_requested": "no"})
    review = registrant.client.get("/crisis-plan/review").get_data(as_text=True)
    for typed in ("Jordan Rivers", "Quiet voice, music", "Lithium", "(314) 555-0100"):
        assert typed in review, typed
    assert 'href="/crisis-plan/step/care?then=review"' in review
    # A change from there comes back to the answers, not to the next step.
    changed = registrant.post(
        "/crisis-plan/step/care?then=review", {"action": "next", "medications": "None now"}
    )
    assert changed.headers["Location"] == "/crisis-plan/review"
    assert registrant.post("/crisis-plan/review", {}).status_code == 200  # not yet acknowledged
    with migrated_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CrisisPlan)) == 0
    assert registrant.post("/crisis-plan/review", {"understood": "y"}).headers["Location"] == "/crisis-plan/"
    with migrated_app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        assert plan.cit_requested is False and plan.details["care"]["medications"] == "None now"
    assert registrant.client.get_cookie("plan_draft") is None  # filed: nothing to continue


def test_back_from_the_photo_step_goes_to_the_person(registrant: Registrant) -> None:
    response = registrant.post(
        "/crisis-plan/step/photo", {"action": "back"}, content_type="multipart/form-data"
    )
    assert response.headers["Location"] == "/crisis-plan/step/person"


def test_before_withdrawing_the_family_can_keep_a_copy(migrated_app: Flask) -> None:
    family = Registrant(migrated_app, migrated_app.test_client())
    family.file_plan()
    page = family.client.get("/crisis-plan/withdraw").get_data(as_text=True)
    assert 'href="/crisis-plan/print"' in page and 'href="/crisis-plan/access-log"' in page
    # It does not promise what it cannot give: the log is not readable here afterwards.
    assert "you cannot see it or its access log here any more" in page


def test_an_unverified_phone_is_never_dropped_without_a_word(registrant: Registrant) -> None:
    registrant.add_phone("(314) 555-0100", "filer")
    registrant.verify_phone(0, registrant.last_code("+13145550100"))
    registrant.add_phone("314 555 9876", "other")  # the uncle is not here to read his code
    stopped = phones_page(registrant, {"action": "next"})
    assert stopped.status_code == 200
    assert "is not verified yet. Enter the code we sent to it, or remove it." in stopped.get_data(
        as_text=True
    )
    phones_page(registrant, {"action": "remove:1"})
    assert phones_page(registrant, {"action": "next"}).headers["Location"] == "/crisis-plan/step/crisis"


def test_the_code_text_says_what_it_is_and_a_code_typed_with_a_space_works(registrant: Registrant) -> None:
    registrant.add_phone("(314) 555-0177", "person")
    with registrant.app.app_context():
        body = next(
            m.body for m in db.session.scalars(select(OutboundMessage)) if m.to_number == "+13145550177"
        )
    assert "crisis plan" in body and "If you did not ask for it, ignore this text." in body
    code = registrant.last_code("+13145550177")
    page = registrant.verify_phone(0, f"{code[:3]} {code[3:]}")
    assert page.status_code == 302
    assert "Verified" in registrant.client.get("/crisis-plan/step/phones").get_data(as_text=True)


def test_continue_goes_back_to_where_the_family_stopped_and_start_over_asks_first(
    registrant: Registrant,
) -> None:
    registrant.step("person", PERSON)
    registrant.step("where", WHERE)
    assert registrant.post("/crisis-plan/start", {"action": "continue"}).headers["Location"] == (
        "/crisis-plan/step/phones"
    )
    asked = registrant.post("/crisis-plan/start", {"action": "new"})
    assert asked.status_code == 200 and "Starting over deletes the answers you saved." in asked.get_data(
        as_text=True
    )
    assert 'value="Jordan Rivers"' in registrant.client.get("/crisis-plan/step/person").get_data(as_text=True)
    registrant.post("/crisis-plan/start", {"action": "new", "confirmed": "1"})
    assert "Jordan Rivers" not in registrant.client.get("/crisis-plan/step/person").get_data(as_text=True)


def test_the_language_for_texts_starts_as_the_language_being_read(registrant: Registrant) -> None:
    page = registrant.client.get("/ar/crisis-plan/step/consent").get_data(as_text=True)
    selected = re.search(
        r'<option[^>]*selected[^>]*value="(\w+)"|<option[^>]*value="(\w+)"[^>]*selected', page
    )
    assert selected and "ar" in selected.groups()
