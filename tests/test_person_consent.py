"""The person a family files for has the say: after the code sent to their own phone they
see the plan, then agree, ask for changes or have it deleted (usability review, M1 and M2).

On SQLite and on PostgreSQL, through the pages with CSRF on.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.messaging.segments import segment_count
from portal.plans.models import CrisisPlan, PlanDraft, PlanPhoto
from tests.registry_helpers import CONSENT, CRISIS, PERSON, Registrant, e164
from tests.reply_language import language_of

FILER_PHONE = "(314) 555-0100"
PERSON_PHONE = "(314) 555-0177"
NAME = "Daniel Okafor-Brandt"
WHAT_HELPS = "Let him pace; talk about the Cardinals"
NOTE = "Please take out the part about the hospital on Grand."
FAMILY = {**CONSENT, "filed_by": "family"}


class FamilyRegistrant(Registrant):
    """A mother filing for her adult son: her phone, then his, both verified."""

    person_phone: str | None = PERSON_PHONE

    def verify_phone(self, position: int, code: str):  # type: ignore[no-untyped-def]
        response = super().verify_phone(position, code)
        if position == 0 and self.person_phone:
            self.add_phone(self.person_phone, "person")
            verified = super().verify_phone(1, self.last_code(e164(self.person_phone)))
            assert verified.status_code == 302, verified.get_data(as_text=True)
        return response


@pytest.fixture
def app(any_database_app: Flask) -> Flask:
    return any_database_app


def file_for_daniel(
    app: Flask, *, language: str = "en", person_phone: str | None = PERSON_PHONE
) -> Registrant:
    family = FamilyRegistrant(app, app.test_client())
    family.person_phone = person_phone
    family.file_plan(
        phone=FILER_PHONE,
        consent={**FAMILY, "language": language},
        person={**PERSON, "name": NAME},
        crisis={**CRISIS, "what_helps": WHAT_HELPS},
    )
    return family


def texts(app: Flask, number: str, purpose: str | None = None) -> list[OutboundMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        return [m for m in rows if m.to_number == e164(number) and purpose in (None, m.purpose)]


def the_plan(app: Flask) -> CrisisPlan:
    with app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        db.session.expunge(plan)
        return plan


def daniel_enters_his_code(app: Flask, prefix: str = "") -> Registrant:
    daniel = Registrant(app, app.test_client(), prefix)
    code = daniel.last_code(e164(PERSON_PHONE))
    entered = daniel.post("/crisis-plan/confirm", {"phone-number": PERSON_PHONE, "confirm-code": code})
    assert entered.status_code == 302, entered.get_data(as_text=True)
    assert entered.headers["Location"].endswith("/crisis-plan/confirm/plan")
    return daniel


def answer(who: Registrant, answer: str, **data: Any):  # type: ignore[no-untyped-def]
    return who.post(
        "/crisis-plan/confirm/answer", {"answer": answer, **data}, token_from="/crisis-plan/confirm"
    )


def page(who: Registrant, path: str) -> str:
    response = who.client.get(who.url(path))
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_the_person_sees_the_plan_made_for_him_and_agrees(app: Flask) -> None:
    family = file_for_daniel(app, language="es")  # filed from English pages, for a Spanish reader

    # His first text: in the plan's language, gentle, with nothing from the plan.
    (first,) = texts(app, PERSON_PHONE, "phone_code")[-1:]
    assert language_of(first.body) == {"es"}, first.body
    assert "/es/crisis-plan/confirm" in first.body
    for word in (*NAME.split(), *WHAT_HELPS.split("; "), "Jordan"):
        assert word not in first.body
    assert segment_count(first.body) <= 3, (segment_count(first.body), len(first.body))

    # The filer's page says what is missing and how to get it.
    waiting = page(family, "/crisis-plan/")
    assert "Waiting for Daniel Okafor-Brandt to agree" in waiting
    assert "Send the confirmation text again" in waiting

    # The phone field is his, not "whoever filed the plan".
    step_one = page(Registrant(app, app.test_client()), "/crisis-plan/confirm")
    assert "or of whoever filed the plan" not in step_one and WHAT_HELPS not in step_one

    daniel = daniel_enters_his_code(app)
    summary = page(daniel, "/crisis-plan/confirm/plan")
    assert WHAT_HELPS in summary and NAME in summary
    for label in ("I agree", "I want changes", "I do not agree: delete this plan"):
        assert label in summary

    agreed = answer(daniel, "agree")
    assert agreed.status_code == 302 and agreed.headers["Location"].endswith("/crisis-plan/")
    with app.app_context():
        assert db.session.scalars(select(CrisisPlan.person_confirmed_at)).one() is not None
    # Answered: the same question is not asked again; his page says the plan is his.
    again = daniel.client.get("/crisis-plan/confirm/plan")
    assert again.status_code == 302 and again.headers["Location"].endswith("/crisis-plan/")
    his_page = page(daniel, "/crisis-plan/")
    assert "This is your crisis plan" in his_page and "You agreed with it on" in his_page
    assert "I do not agree: delete this plan" not in his_page
    assert "Waiting for" not in page(family, "/crisis-plan/")


def test_the_person_says_no_and_the_plan_is_deleted(app: Flask) -> None:
    family = file_for_daniel(app)
    plan = the_plan(app)
    with app.app_context():  # a photo and an edit in progress, to be deleted with it
        db.session.add_all([PlanPhoto(plan_id=plan.id, jpeg=b"jpeg"), PlanDraft(plan_id=plan.id)])
        db.session.commit()

    daniel = daniel_enters_his_code(app)
    declined = answer(daniel, "decline")
    assert declined.status_code == 302 and declined.headers["Location"].endswith("/crisis-plan/confirm/done")
    done = page(daniel, "/crisis-plan/confirm/done")
    assert "The plan is deleted" in done and "We texted the family member" in done

    with app.app_context():
        for table, column in (
            ("crisis_plans", "id"),
            ("plan_phones", "plan_id"),
            ("plan_photos", "plan_id"),
            ("plan_drafts", "plan_id"),
            ("registrant_sessions", "plan_id"),
        ):
            left = db.session.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),  # noqa: S608 (fixed names)
                {"id": plan.id},
            ).scalar()
            assert left == 0, table

    (told,) = texts(app, FILER_PHONE, "plan_declined")
    assert plan.reference in told.body and "did not agree" in told.body
    for word in (*NAME.split(), *WHAT_HELPS.split("; "), "Lithium", "4500 Main"):
        assert word not in told.body
    assert texts(app, PERSON_PHONE, "plan_declined") == []
    # Nobody stays signed in to a plan that is gone.
    for who in (daniel, family):
        assert who.client.get("/crisis-plan/").status_code == 302


def test_the_person_wants_changes_and_the_filer_reads_the_note(app: Flask) -> None:
    family = file_for_daniel(app)
    daniel = daniel_enters_his_code(app)
    changes = answer(daniel, "changes", note=NOTE)
    assert changes.status_code == 302 and changes.headers["Location"].endswith("/crisis-plan/")
    his_page = page(daniel, "/crisis-plan/")
    assert "This is your crisis plan" in his_page and WHAT_HELPS in his_page
    assert "I agree" in his_page  # he can still agree once it is right

    with app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        assert plan.person_confirmed_at is None and plan.person_note == NOTE
        stored = db.session.execute(text("SELECT person_note FROM crisis_plans")).scalar()
        assert stored and "hospital" not in stored  # encrypted

    filer_page = page(family, "/crisis-plan/")
    assert "Daniel Okafor-Brandt asked for changes:" in filer_page
    assert "Please take out the part about the hospital on Grand." in filer_page
    (told,) = texts(app, FILER_PHONE, "person_note")
    assert "hospital" not in told.body and "Daniel" not in told.body


def test_a_wrong_code_keeps_the_typed_number(app: Flask) -> None:
    file_for_daniel(app)
    right = Registrant(app, app.test_client()).last_code(e164(PERSON_PHONE))
    wrong = "000000" if right != "000000" else "111111"
    stranger = Registrant(app, app.test_client())
    response = stranger.post("/crisis-plan/confirm", {"phone-number": "314.555.0177", "confirm-code": wrong})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "That code is not right" in body and 'value="314.555.0177"' in body
    assert WHAT_HELPS not in body
    assert stranger.client.get("/crisis-plan/confirm/plan").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(CrisisPlan.person_confirmed_at)).one() is None


def test_only_the_person_can_answer(app: Flask) -> None:
    """Whoever filed, signed in to the same plan, cannot agree for the person, not even on
    a browser the person used and signed out of."""
    family = file_for_daniel(app)
    assert family.client.get("/crisis-plan/confirm/plan").headers["Location"].endswith("/crisis-plan/confirm")
    assert answer(family, "agree").headers["Location"].endswith("/crisis-plan/confirm")

    daniel = daniel_enters_his_code(app)
    daniel.post("/crisis-plan/sign-out", {}, token_from="/crisis-plan/")
    daniel.post("/crisis-plan/sign-in", {"number": FILER_PHONE})
    daniel.post("/crisis-plan/sign-in/code", {"code": daniel.last_code(e164(FILER_PHONE))})
    assert page(daniel, "/crisis-plan/").count("Waiting for Daniel") == 1  # the filer's view
    assert answer(daniel, "agree").headers["Location"].endswith("/crisis-plan/confirm")
    with app.app_context():
        assert db.session.scalars(select(CrisisPlan.person_confirmed_at)).one() is None


def test_a_new_code_is_asked_for_with_the_same_answer_for_any_number(app: Flask) -> None:
    file_for_daniel(app)
    before = len(texts(app, PERSON_PHONE))
    for number in (PERSON_PHONE, "(314) 555-0199"):
        visitor = Registrant(app, app.test_client())
        asked = visitor.post(
            "/crisis-plan/confirm/new-code", {"again-number": number}, token_from="/crisis-plan/confirm"
        )
        assert asked.status_code == 302 and asked.headers["Location"].endswith("/crisis-plan/confirm")
        shown = page(visitor, "/crisis-plan/confirm")
        assert "If a crisis plan was made for this phone, we sent it a new code." in shown
        assert f'value="{number}"' in shown  # ready for the code
    assert len(texts(app, PERSON_PHONE)) == before + 1
    assert texts(app, "(314) 555-0199") == []
    daniel_enters_his_code(app)  # the new code works

    limited = Registrant(app, app.test_client())
    for _attempt in range(11):
        response = limited.post(
            "/crisis-plan/confirm/new-code",
            {"again-number": "(314) 555-0198"},
            token_from="/crisis-plan/confirm",
        )
    assert "Too many codes were asked for" in response.get_data(as_text=True)


def test_the_filer_sends_the_text_again_or_adds_the_persons_phone(app: Flask) -> None:
    family = file_for_daniel(app)
    before = len(texts(app, PERSON_PHONE, "phone_code"))
    again = family.post("/crisis-plan/confirm/send-again", {}, token_from="/crisis-plan/")
    assert again.status_code == 302
    assert len(texts(app, PERSON_PHONE, "phone_code")) == before + 1
    assert "We sent the text again." in page(family, "/crisis-plan/")

    with app.app_context():
        db.session.execute(text("DELETE FROM crisis_plans"))
        db.session.commit()
    other = file_for_daniel(app, person_phone=None)
    waiting = page(other, "/crisis-plan/")
    assert "Add Daniel Okafor-Brandt’s phone so they can confirm" in waiting
    assert 'action="/crisis-plan/change/phones"' in waiting
    assert "Send the confirmation text again" not in waiting


def test_a_change_by_the_family_after_he_agreed_is_his_to_see_again(app: Flask) -> None:
    family = file_for_daniel(app)
    answer(daniel_enters_his_code(app), "agree")
    before = len(texts(app, PERSON_PHONE))
    family.post("/crisis-plan/change/crisis", {}, token_from="/crisis-plan/")
    saved = family.step("crisis", {**CRISIS, "what_helps": "Give him space"})
    assert saved.headers["Location"] == "/crisis-plan/"
    assert the_plan(app).person_confirmed_at is None
    assert len(texts(app, PERSON_PHONE)) == before + 1
    assert "Waiting for" in page(family, "/crisis-plan/")


def test_when_he_deletes_it_from_his_plan_page_the_family_is_told(app: Flask) -> None:
    file_for_daniel(app)
    daniel = daniel_enters_his_code(app)
    answer(daniel, "agree")
    deleted = daniel.post("/crisis-plan/withdraw", {})
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(text("count(*)")).select_from(text("crisis_plans"))) == 0
    told = texts(app, FILER_PHONE)[-1]
    assert "did not agree" in told.body and NAME.split()[0] not in told.body
