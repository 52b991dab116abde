"""The family's opt-in texts (issue 16): a plan filed through the pages with the texts
chosen, opened from the console for a typed-in request, and the request closed.

What the tests know of their own: the words the family wrote (none may appear in a
text), what the brief and the plan form promise (one text per plan per request, one an
hour without a request, the closing text only with the person's consent, a follow-up
only when a peer-support partner exists), and SMS segment maths (GSM-7: 160 alone, 153
a segment; anything else UCS-2: 70 alone, 67 a segment).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polib
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.dispatch import family_texts
from portal.dispatch.handoffs import register_partners
from portal.dispatch.models import CitRequest, OptOut
from portal.extensions import babel, db
from portal.i18n import LANGUAGES
from portal.messaging.outbox import OutboundMessage
from portal.messaging.segments import is_gsm7, segment_count
from portal.phones import phone_index
from portal.plans.models import CrisisPlan
from tests.conftest import make_environ
from tests.console_helpers import csrf_token, make_user, sign_in, signed_in_dispatcher
from tests.registry_helpers import CARE, CONSENT, CRISIS, PEOPLE, PERSON, WHERE, Registrant, e164
from tests.reply_language import TRANSLATIONS

FAMILY_PHONE = "(314) 555-0100"
PERSON_PHONE = "(314) 555-0177"
UNIT_PHONE = "+13145550142"
SIGNATURE = "Call for the Pin: "  # the notices number's texts begin with the campaign's name
ALL_YES = {"notify_on_open": "yes", "notify_on_close": "yes", "follow_up_consent": "yes"}
# Every word the family wrote that a text could leak, and the request's own location.
PLAN_WORDS = (
    "Jordan",
    "Rivers",
    "1990",
    "Tall",
    "4500 Main",
    "Main St",
    "Quiet voice",
    "music",
    "sirens",
    "Standing close",
    "Lithium",
    "Mother",
    "555-0133",
    "deaf",
    "Deaf",
    "Lindell",
)
OPENED, CLOSED = "family_plan_opened", "family_request_closed"


def family_texts_to(app: Flask, number: str, purpose: str | None = None) -> list[OutboundMessage]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.purpose.in_((OPENED, CLOSED)))
            .order_by(OutboundMessage.id)
        ).all()
        return [m for m in rows if m.to_number == e164(number) and purpose in (None, m.purpose)]


def assert_nothing_from_the_plan(body: str) -> None:
    for word in PLAN_WORDS:
        assert word not in body, (word, body)


def assert_fits(body: str) -> None:
    assert body.startswith(SIGNATURE), body
    assert segment_count(body) <= 3, (segment_count(body), body)


def file_plan(app: Flask, consent: dict[str, str], *, prefix: str = "") -> Registrant:
    family = Registrant(app, app.test_client(), prefix)
    family.file_plan(phone=FAMILY_PHONE, consent=consent)
    return family


def the_plan(app: Flask) -> CrisisPlan:
    with app.app_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        db.session.expunge(plan)
        return plan


def typed_in_request(dispatcher: FlaskClient, callback: str = FAMILY_PHONE) -> str:
    """A 911 voice call from a phone on the plan, typed in: it finds the plan."""
    created = dispatcher.post(
        "/console/requests/new",
        data={
            "csrf_token": csrf_token(dispatcher, "/console/requests/new"),
            "location": "4500 Lindell Blvd",
            "callback": callback,
            "language": "en",
        },
    )
    assert created.status_code == 302
    return created.headers["Location"].rsplit("/", 1)[1]


def open_plan(dispatcher: FlaskClient, plan: str, choice: str) -> None:
    opened = dispatcher.post(
        f"/console/plans/{plan}",
        data={"csrf_token": csrf_token(dispatcher, "/console/plans"), "choice": choice},
    )
    assert opened.status_code == 200, opened.get_data(as_text=True)[:500]


def close_request(dispatcher: FlaskClient, reference: str) -> None:
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={
            "csrf_token": csrf_token(dispatcher, f"/console/requests/{reference}"),
            "disposition": "cit_dispatched",
            "cad_number": "",
            "text_texter": "no",
        },
    )
    assert closed.status_code == 302, closed.get_data(as_text=True)[:500]


@pytest.fixture
def dispatcher(migrated_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(migrated_app)


@pytest.fixture
def peer_support(migrated_app: Flask) -> None:
    """The peer-support partner of agency.toml, registered as an admin's page does."""
    with migrated_app.app_context():
        assert any(partner.role == "follow_up" for partner in register_partners())
        db.session.commit()


# The texts themselves, in every language.

LONG_URL = "https://callforthepin.stlouis-mo.example.gov/zh/crisis-plan/access-log"


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
def test_every_family_text_fits_three_segments(app: Flask, language) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        bodies = [
            family_texts.opened_text(
                language.code, kind, for_request=for_request, reference="WWWW-WWWW", url=LONG_URL
            )
            for kind in family_texts.VIEWER_KINDS
            for for_request in (True, False)
        ]
        bodies += [
            family_texts.closed_text(language.code, follow_up=follow_up, reference="WWWW-WWWW")
            for follow_up in (True, False)
        ]
    assert len(set(bodies)) == 8  # each says something of its own
    for body in bodies:
        sent = SIGNATURE + body  # as the outbox sends it from the notices number
        assert segment_count(sent) <= 3, (language.code, segment_count(sent), sent)
        assert "WWWW-WWWW" in body
        if language.code == "en":
            assert is_gsm7(sent), sent
    for body in bodies[:6]:
        assert LONG_URL in body
    for kind, words in zip(
        ("dispatcher", "partner", "officer"),
        ("911 dispatcher", "crisis partner", "responding officer"),
        strict=True,
    ):
        with app.test_request_context():
            english = family_texts.opened_text("en", kind, for_request=True, reference="W", url="U")
        assert words in english and "CIT request" in english


def test_the_viewer_kind_is_checked(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(ValueError):
        family_texts.opened_text("en", "reporter", for_request=True, reference="W", url="U")


# Through the pages and the console.


def test_a_request_texts_the_family_once_and_names_no_one(
    migrated_app: Flask, dispatcher: FlaskClient, peer_support: None
) -> None:
    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    plan = the_plan(migrated_app)
    assert (plan.notify_on_open, plan.notify_on_close, plan.follow_up_consent) == (True, True, True)
    reference = typed_in_request(dispatcher)

    for _time in range(3):  # a dispatcher opens it three times for the same request
        open_plan(dispatcher, plan.reference, f"request:{reference}")
    (opened,) = family_texts_to(migrated_app, FAMILY_PHONE)
    assert opened.purpose == OPENED and opened.sender == "notices"
    assert_fits(opened.body)
    assert is_gsm7(opened.body)
    assert plan.reference in opened.body
    assert "911 dispatcher" in opened.body and "CIT request" in opened.body
    assert re.search(r"https?://\S+/crisis-plan/access-log$", opened.body), opened.body
    assert "/es/" not in opened.body
    assert_nothing_from_the_plan(opened.body)
    with migrated_app.app_context():
        assert opened.cit_request_id == db.session.scalars(select(CitRequest.id)).one()

    # Opened for an incoming 911 call (no request): one text, then none for an hour.
    open_plan(dispatcher, plan.reference, "call")
    open_plan(dispatcher, plan.reference, "en_route")
    texts = family_texts_to(migrated_app, FAMILY_PHONE, OPENED)
    assert len(texts) == 2
    assert "911 dispatcher" in texts[1].body and "CIT request" not in texts[1].body
    assert texts[1].cit_request_id is None
    assert_fits(texts[1].body)
    assert_nothing_from_the_plan(texts[1].body)

    # The request closes: help was sent, and the peer-support worker will call.
    close_request(dispatcher, reference)
    (closed,) = family_texts_to(migrated_app, FAMILY_PHONE, CLOSED)
    assert_fits(closed.body)
    assert is_gsm7(closed.body)
    assert plan.reference in closed.body
    assert "help was sent" in closed.body and "closed" in closed.body
    assert "peer-support worker will call" in closed.body
    assert_nothing_from_the_plan(closed.body)
    # Opening the plan again for the closed request texts nothing more.
    open_plan(dispatcher, plan.reference, f"request:{reference}")
    assert len(family_texts_to(migrated_app, FAMILY_PHONE, OPENED)) == 2

    # Without a request, the next text comes an hour after the last.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=59), tick=True):
        later = signed_in_dispatcher(migrated_app, "dee2@example.org")  # the first one timed out
        open_plan(later, plan.reference, "call")
        assert len(family_texts_to(migrated_app, FAMILY_PHONE, OPENED)) == 2
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61), tick=True):
        later = signed_in_dispatcher(migrated_app, "dee3@example.org")
        open_plan(later, plan.reference, "call")
        assert len(family_texts_to(migrated_app, FAMILY_PHONE, OPENED)) == 3


def test_without_the_choices_the_family_gets_no_text(migrated_app: Flask, dispatcher: FlaskClient) -> None:
    file_plan(migrated_app, CONSENT)  # the choices left unanswered: no
    plan = the_plan(migrated_app)
    assert (plan.notify_on_open, plan.notify_on_close, plan.follow_up_consent) == (False, False, False)
    reference = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{reference}")
    open_plan(dispatcher, plan.reference, "call")
    close_request(dispatcher, reference)
    assert family_texts_to(migrated_app, FAMILY_PHONE) == []


def test_without_a_peer_support_partner_no_call_is_promised(
    migrated_app: Flask, dispatcher: FlaskClient
) -> None:
    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    close_request(dispatcher, typed_in_request(dispatcher))
    (closed,) = family_texts_to(migrated_app, FAMILY_PHONE, CLOSED)
    assert "help was sent" in closed.body
    assert "peer-support" not in closed.body


def test_a_closing_text_without_a_follow_up_consent_promises_no_call(
    migrated_app: Flask, dispatcher: FlaskClient, peer_support: None
) -> None:
    file_plan(migrated_app, {**CONSENT, "notify_on_close": "yes", "follow_up_consent": "no"})
    close_request(dispatcher, typed_in_request(dispatcher))
    (closed,) = family_texts_to(migrated_app, FAMILY_PHONE)  # nothing when it was opened
    assert closed.purpose == CLOSED
    assert "peer-support" not in closed.body


# The Spanish the test gives two of the texts (the catalogue may not have them yet): the
# texts must come out in these words for a Spanish plan. "está" is not GSM-7: UCS-2.
OPENED_ES = (
    "Crisis plan %(reference)s was opened by a 911 dispatcher for a CIT request. Who viewed it: %(url)s",
    "El plan de crisis %(reference)s fue abierto por un despachador del 911 para una solicitud CIT. "
    "Quién lo vio: %(url)s",
)
CLOSED_ES = (
    "Crisis plan %(reference)s: help was sent and the CIT request is now closed. "
    "A peer-support worker will call in the next few days.",
    "Plan de crisis %(reference)s: se envió ayuda y la solicitud CIT está cerrada. "
    "Alguien de apoyo entre pares llamará en los próximos días.",
)


@pytest.fixture
def spanish_app(tmp_path: Path) -> Iterator[Flask]:
    """A migrated app whose Spanish catalogue has the test's own Spanish for two texts."""
    from flask_migrate import upgrade

    catalogues = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, catalogues, ignore=shutil.ignore_patterns("review"))
    spanish = polib.pofile(str(catalogues / "es" / "LC_MESSAGES" / "messages.po"))
    for msgid, msgstr in (OPENED_ES, CLOSED_ES):
        entry = spanish.find(msgid)
        if entry is None:
            spanish.append(polib.POEntry(msgid=msgid, msgstr=msgstr, flags=["python-format"]))
        else:
            entry.msgstr, entry.flags = msgstr, ["python-format"]
    spanish.save_as_mofile(str(catalogues / "es" / "LC_MESSAGES" / "messages.mo"))
    app = create_app(
        {"TESTING": True, "BABEL_TRANSLATION_DIRECTORIES": str(catalogues)},
        environ=make_environ(tmp_path),
    )
    with app.app_context():
        upgrade()
        assert any(partner.role == "follow_up" for partner in register_partners())
        db.session.commit()
        # Flask-Babel keeps the catalogues it read for the whole process, whichever app
        # read them: forgotten before (so these are read) and after (so no other test sees them).
        babel.domain_instance.cache.clear()
    yield app
    with app.app_context():
        babel.domain_instance.cache.clear()


def test_a_spanish_plan_is_texted_in_spanish(spanish_app: Flask) -> None:
    dispatcher = signed_in_dispatcher(spanish_app)
    file_plan(spanish_app, {**CONSENT, **ALL_YES, "language": "es"}, prefix="/es")
    plan = the_plan(spanish_app)
    assert plan.language == "es"
    reference = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{reference}")
    close_request(dispatcher, reference)
    opened, closed = family_texts_to(spanish_app, FAMILY_PHONE)
    url = re.search(r"https?://\S+", opened.body)
    assert url and url.group(0).endswith("/es/crisis-plan/access-log"), opened.body
    assert opened.body == SIGNATURE + OPENED_ES[1] % {"reference": plan.reference, "url": url.group(0)}
    assert closed.body == SIGNATURE + CLOSED_ES[1] % {"reference": plan.reference}
    assert not is_gsm7(closed.body)  # counted as UCS-2: 67 a segment
    for body in (opened.body, closed.body):
        assert_fits(body)
        assert_nothing_from_the_plan(body)


def test_an_officer_card_for_the_same_request_texts_nothing_more(
    migrated_app: Flask, dispatcher: FlaskClient
) -> None:
    from tests.test_officer_card import register, send_card, texted_link

    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    admin = migrated_app.test_client()
    secret = make_user(migrated_app, "ada@example.org", "admin")
    assert sign_in(migrated_app, admin, "ada@example.org", secret).status_code == 302
    assert register(admin, "Unit 3142", UNIT_PHONE)[0] == 302

    reference = typed_in_request(dispatcher)
    send_card(dispatcher, reference)
    officer = migrated_app.test_client()
    assert officer.get(texted_link(migrated_app)).status_code == 200
    (opened,) = family_texts_to(migrated_app, FAMILY_PHONE)
    assert "responding officer" in opened.body and "CIT request" in opened.body
    assert "3142" not in opened.body  # the kind of reader, never who
    assert_nothing_from_the_plan(opened.body)
    # The dispatcher opens it too, for the same request: still one text.
    open_plan(dispatcher, the_plan(migrated_app).reference, f"request:{reference}")
    assert len(family_texts_to(migrated_app, FAMILY_PHONE)) == 1


def test_a_partner_opening_is_named_as_a_crisis_partner(migrated_app: Flask, dispatcher: FlaskClient) -> None:
    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    reference = typed_in_request(dispatcher)
    with migrated_app.test_request_context():
        plan = db.session.scalars(select(CrisisPlan)).one()
        request = db.session.scalars(select(CitRequest).where(CitRequest.reference == reference)).one()
        family_texts.plan_opened(plan, viewer_kind="partner", request=request)
        family_texts.plan_opened(plan, viewer_kind="partner", request=request)
        db.session.commit()
    (opened,) = family_texts_to(migrated_app, FAMILY_PHONE)
    assert "crisis partner" in opened.body and "CIT request" in opened.body
    assert_nothing_from_the_plan(opened.body)


def test_a_phone_that_sent_stop_is_not_texted(migrated_app: Flask, dispatcher: FlaskClient) -> None:
    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    plan = the_plan(migrated_app)
    with migrated_app.app_context():
        db.session.add(OptOut(number_index=phone_index(e164(FAMILY_PHONE))))
        db.session.commit()
    reference = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{reference}")
    close_request(dispatcher, reference)
    assert family_texts_to(migrated_app, FAMILY_PHONE) == []


def test_a_phone_twilio_says_unsubscribed_from_the_notices_number_is_not_texted(
    migrated_app: Flask, dispatcher: FlaskClient
) -> None:
    file_plan(migrated_app, {**CONSENT, **ALL_YES})
    plan = the_plan(migrated_app)
    with migrated_app.app_context():
        # A reminder the notices number sent was refused: the phone texted STOP to it.
        refused = OutboundMessage(
            to_number=e164(FAMILY_PHONE),
            body="Call for the Pin: a reminder",
            sender="notices",
            purpose="plan_reminder",
            status="failed",
            error_code=21610,
        )
        db.session.add(refused)
        db.session.commit()
    first = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{first}")
    assert family_texts_to(migrated_app, FAMILY_PHONE) == []

    # The phone sent START: Twilio accepts a notices text to it again, and so do we.
    with migrated_app.app_context():
        db.session.add(
            OutboundMessage(
                to_number=e164(FAMILY_PHONE),
                body="Call for the Pin: a code",
                sender="notices",
                purpose="phone_code",
                status="accepted",
                accepted_at=datetime.now(UTC),
            )
        )
        db.session.commit()
    second = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{second}")
    assert len(family_texts_to(migrated_app, FAMILY_PHONE)) == 1


# A family member filing for an adult: the closing text waits for the person's consent.


class FamilyRegistrant(Registrant):
    """A mother filing for her adult son: her phone, then his, both verified."""

    def verify_phone(self, position: int, code: str):  # type: ignore[no-untyped-def]
        response = super().verify_phone(position, code)
        if position == 0:
            self.add_phone(PERSON_PHONE, "person")
            verified = super().verify_phone(1, self.last_code(e164(PERSON_PHONE)))
            assert verified.status_code == 302, verified.get_data(as_text=True)
        return response


def test_a_family_plan_for_an_adult_gets_no_closing_text_until_the_person_confirms(
    migrated_app: Flask, dispatcher: FlaskClient, peer_support: None
) -> None:
    family = FamilyRegistrant(migrated_app, migrated_app.test_client())
    family.file_plan(phone=FAMILY_PHONE, consent={**CONSENT, **ALL_YES, "filed_by": "family"})
    plan = the_plan(migrated_app)
    assert plan.person_confirmed_at is None
    overview = family.client.get("/crisis-plan/").get_data(as_text=True)
    assert "Yes, once the person has confirmed the plan" in overview

    first = typed_in_request(dispatcher)
    open_plan(dispatcher, plan.reference, f"request:{first}")
    close_request(dispatcher, first)
    (opened,) = family_texts_to(migrated_app, FAMILY_PHONE)
    assert opened.purpose == OPENED  # opening was chosen; the close waits for consent
    assert family_texts_to(migrated_app, PERSON_PHONE) == []  # only whoever filed

    # The person reads what the family chose, then agrees.
    person = Registrant(migrated_app, migrated_app.test_client())
    code = person.last_code(e164(PERSON_PHONE))
    entered = person.post("/crisis-plan/confirm", {"phone-number": PERSON_PHONE, "confirm-code": code})
    assert entered.status_code == 302, entered.get_data(as_text=True)
    summary = person.client.get("/crisis-plan/confirm/plan").get_data(as_text=True)
    assert "gets a text when a request for you is closed" in summary
    assert "A follow-up call from a peer-support worker after a crisis" in summary
    agreed = person.post(
        "/crisis-plan/confirm/answer", {"answer": "agree"}, token_from="/crisis-plan/confirm"
    )
    assert agreed.status_code == 302
    assert the_plan(migrated_app).person_confirmed_at is not None

    second = typed_in_request(dispatcher)
    close_request(dispatcher, second)
    (closed,) = family_texts_to(migrated_app, FAMILY_PHONE, CLOSED)
    assert "help was sent" in closed.body and "peer-support worker will call" in closed.body
    assert_nothing_from_the_plan(closed.body)
    assert family_texts_to(migrated_app, PERSON_PHONE) == []


# The choices on the plan form.


def checked(page: str, name: str) -> str | None:
    """The value of the chosen radio button `name` on a page, or None."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and " checked" in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


def to_consent_step(family: Registrant) -> None:
    assert family.post("/crisis-plan/start", {"action": "new"}).status_code == 302
    for slug, answers in (("person", PERSON), ("where", WHERE)):
        assert family.step(slug, answers).status_code == 302
    family.add_phone(FAMILY_PHONE, "filer")
    assert family.verify_phone(0, family.last_code(e164(FAMILY_PHONE))).status_code == 302
    for slug, answers in (("crisis", CRISIS), ("care", CARE), ("people", PEOPLE)):
        assert family.step(slug, answers).status_code == 302


def test_the_choices_survive_the_draft_and_show_on_check_your_answers(migrated_app: Flask) -> None:
    family = Registrant(migrated_app, migrated_app.test_client())
    to_consent_step(family)

    # First shown, nothing is chosen for the family.
    fresh = family.client.get("/crisis-plan/step/consent").get_data(as_text=True)
    for name in ALL_YES:
        assert checked(fresh, name) is None, name
    assert "Yes, text me when my plan is opened for a request" in fresh
    assert "it starts once the person has confirmed the plan" in fresh

    choices = {"notify_on_open": "yes", "notify_on_close": "no", "follow_up_consent": "yes"}
    switched = family.post("/crisis-plan/step/consent", {**CONSENT, **choices, "switch_language": "es"})
    assert switched.status_code == 302 and "/es/crisis-plan/step/consent" in switched.headers["Location"]
    in_spanish = family.client.get("/es/crisis-plan/step/consent").get_data(as_text=True)
    assert {name: checked(in_spanish, name) for name in choices} == choices

    # Back to the step before, then on again: still chosen.
    back = family.client.post(
        "/es/crisis-plan/step/consent",
        data={**family.token("/es/crisis-plan/step/consent"), **CONSENT, **choices, "action": "back"},
    )
    assert back.status_code == 302 and back.headers["Location"].endswith("/es/crisis-plan/step/people")
    again = family.client.get("/crisis-plan/step/consent").get_data(as_text=True)
    assert {name: checked(again, name) for name in choices} == choices

    assert family.step("consent", {**CONSENT, **choices}).headers["Location"].endswith("/crisis-plan/review")
    review = family.client.get("/crisis-plan/review").get_data(as_text=True)
    for shown in (
        "Should we text you when the plan is opened for a request?",
        "Yes, text me when my plan is opened for a request",
        "Should we text you when the request is closed?",
        "Does the person agree to a follow-up call from a peer-support worker after a crisis?",
        "Yes, the person agrees to a follow-up call",
    ):
        assert shown in review, shown
    assert "Yes, text me when the request is closed" not in review  # "no" was chosen
    assert family.post("/crisis-plan/review", {"understood": "y"}).status_code == 302
    plan = the_plan(migrated_app)
    assert (plan.notify_on_open, plan.notify_on_close, plan.follow_up_consent) == (True, False, True)


def test_the_choices_are_changed_from_the_plan_page(migrated_app: Flask) -> None:
    family = file_plan(migrated_app, {**CONSENT, "notify_on_open": "yes"})
    overview = family.client.get("/crisis-plan/").get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", overview))
    assert "Text when the plan is opened for a request Yes" in shown
    assert "Text when the request is closed No" in shown
    assert "A follow-up call from a peer-support worker after a crisis No" in shown

    change = family.post("/crisis-plan/change/consent", {}, token_from="/crisis-plan/")
    assert change.status_code == 302 and change.headers["Location"].endswith("/crisis-plan/step/consent")
    step = family.client.get("/crisis-plan/step/consent").get_data(as_text=True)
    assert checked(step, "notify_on_open") == "yes"
    assert checked(step, "notify_on_close") == "no"
    assert checked(step, "follow_up_consent") == "no"
    saved = family.step(
        "consent", {**CONSENT, "notify_on_open": "no", "notify_on_close": "yes", "follow_up_consent": "yes"}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/crisis-plan/")
    plan = the_plan(migrated_app)
    assert (plan.notify_on_open, plan.notify_on_close, plan.follow_up_consent) == (False, True, True)


def test_a_bad_answer_is_refused(migrated_app: Flask) -> None:
    family = Registrant(migrated_app, migrated_app.test_client())
    to_consent_step(family)
    refused = family.step("consent", {**CONSENT, "notify_on_open": "maybe"})
    assert refused.status_code == 200
    assert "Choose yes or no." in refused.get_data(as_text=True)


def test_a_family_member_turning_on_a_consent_asks_the_person_again(
    migrated_app: Flask, dispatcher: FlaskClient
) -> None:
    family = FamilyRegistrant(migrated_app, migrated_app.test_client())
    family.file_plan(phone=FAMILY_PHONE, consent={**CONSENT, "filed_by": "family"})
    person = Registrant(migrated_app, migrated_app.test_client())
    code = person.last_code(e164(PERSON_PHONE))
    person.post("/crisis-plan/confirm", {"phone-number": PERSON_PHONE, "confirm-code": code})
    person.post("/crisis-plan/confirm/answer", {"answer": "agree"}, token_from="/crisis-plan/confirm")
    assert the_plan(migrated_app).person_confirmed_at is not None

    # Only texting herself when the plan is opened: her own choice, the person's agreement stands.
    family.post("/crisis-plan/change/consent", {}, token_from="/crisis-plan/")
    family.step("consent", {**CONSENT, "filed_by": "family", "notify_on_open": "yes"})
    assert the_plan(migrated_app).person_confirmed_at is not None
    # The closing text is the person's to agree to: asked again.
    family.post("/crisis-plan/change/consent", {}, token_from="/crisis-plan/")
    saved = family.step(
        "consent", {**CONSENT, "filed_by": "family", "notify_on_open": "yes", "notify_on_close": "yes"}
    )
    assert saved.status_code == 302
    plan = the_plan(migrated_app)
    assert plan.notify_on_close and plan.person_confirmed_at is None
    close_request(dispatcher, typed_in_request(dispatcher))
    assert family_texts_to(migrated_app, FAMILY_PHONE, CLOSED) == []
