"""What residents read: one sentence to say to 911, numbers as their language writes
them, honest words on immigration status and hospital holds, and no page that sends
people to a program they cannot reach."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import PROJECT_ROOT
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.public import PAGES
from tests.registry_helpers import PERSON, WHERE, Registrant

PREFIXES = ["", "/es", "/bs", "/vi", "/zh", "/ar"]
SAY = "“This is a mental health crisis. I need a CIT officer.”"


def text_of(body: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_one_sentence_to_say_to_911_in_english_everywhere(client: FlaskClient, prefix: str) -> None:
    for path in ("/", "/how-to-call", "/help", "/what-happens-next"):
        body = client.get(f"{prefix}{path}").get_data(as_text=True)
        # In English, marked as English (read out to the call-taker), on every page that gives one.
        assert f'<p class="portal-say__english" lang="en" dir="ltr">{SAY}</p>' in body, path
        # The old second script ("Please send a CIT officer") is gone.
        assert "Please send a CIT officer" not in body, path
        assert body.count("portal-say__english") == 1, path


@pytest.mark.parametrize(
    ("prefix", "written"),
    [("", "2,200"), ("/es", "2,200"), ("/bs", "2.200"), ("/vi", "2.200"), ("/zh", "2,200"), ("/ar", "2,200")],
)
def test_the_officer_count_is_written_as_each_language_writes_it(
    client: FlaskClient, prefix: str, written: str
) -> None:
    # Bosnian and Vietnamese use the comma as the decimal mark: "2,200" reads as 2.2 there.
    for path in ("/", "/cit-officers"):
        page = text_of(client.get(f"{prefix}{path}").get_data(as_text=True))
        assert written in page, (prefix, path)
        other = "2.200" if written == "2,200" else "2,200"
        assert other not in page, (prefix, path)


def meta_description(body: str) -> str:
    found = re.findall(r'<meta name="description" content="([^"]*)">', body)
    assert len(found) == 1
    return unescape(found[0])


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.endpoint)
def test_every_page_says_what_it_is_for_in_its_language(client: FlaskClient, page) -> None:  # type: ignore[no-untyped-def]
    english = meta_description(client.get(page.rule).get_data(as_text=True))
    assert 50 <= len(english) <= 160, english  # what a search result shows whole
    seen = {english}
    for prefix in PREFIXES[1:]:
        translated = meta_description(client.get(prefix + page.rule).get_data(as_text=True))
        assert translated and translated not in seen, (prefix, translated)
        seen.add(translated)


def test_the_plan_does_not_ask_about_immigration_status(client: FlaskClient) -> None:
    sentence = "The crisis plan does not ask about immigration status or citizenship."
    for path in ("/crisis-plans", "/privacy", "/questions"):
        assert sentence in text_of(client.get(path).get_data(as_text=True)), path
    # And the privacy page makes no promise it cannot keep.
    privacy = text_of(client.get("/privacy").get_data(as_text=True))
    assert "only when the law requires it" in privacy


def test_what_happens_next_is_honest_about_hospital_holds(client: FlaskClient) -> None:
    page = text_of(client.get("/what-happens-next").get_data(as_text=True))
    assert "may have to go to a hospital for an evaluation even if they do not want to" in page


def test_no_page_sends_people_to_a_program_they_cannot_reach(client: FlaskClient) -> None:
    # The shipped agency file has no program phone or email yet.
    accessibility = text_of(client.get("/accessibility").get_data(as_text=True))
    assert "please tell us" not in accessibility
    assert "Other questions" not in text_of(client.get("/questions").get_data(as_text=True))
    sign_in = text_of(client.get("/crisis-plan/sign-in").get_data(as_text=True))
    assert "ask the CIT program" not in sign_in
    assert "ends on its own" in sign_in


def test_with_a_program_contact_every_page_gives_it(tmp_path: Path) -> None:
    from portal import create_app
    from tests.conftest import make_environ

    agency = (PROJECT_ROOT / "portal" / "agency.toml").read_text(encoding="utf-8")
    agency = agency.replace('program_contact_phone = ""', 'program_contact_phone = "(314) 615-0100"', 1)
    (tmp_path / "agency.toml").write_text(agency, encoding="utf-8")
    environ = make_environ(tmp_path, PORTAL_AGENCY_FILE=str(tmp_path / "agency.toml"))
    client = create_app({"TESTING": True}, environ=environ).test_client()
    for path in ("/accessibility", "/questions", "/crisis-plan/sign-in"):
        body = client.get(path).get_data(as_text=True)
        assert 'href="tel:3146150100"' in body, path
    assert "please tell us" in text_of(client.get("/accessibility").get_data(as_text=True))
    assert "ask the CIT program" in text_of(client.get("/crisis-plan/sign-in").get_data(as_text=True))


def test_a_code_text_starts_with_the_campaign_name_not_a_translated_pin(migrated_app: Flask) -> None:
    # A Spanish family adds a phone: the code text is Spanish, but says who it is from by
    # the English campaign name ("Pida el pin: su código" read as "ask for the PIN code").
    family = Registrant(migrated_app, migrated_app.test_client(), prefix="/es")
    assert family.post("/crisis-plan/start", {"action": "new"}).status_code == 302
    assert family.step("person", PERSON).status_code == 302
    assert family.step("where", WHERE).status_code == 302
    family.add_phone("(314) 555-0100", "filer")
    with migrated_app.app_context():
        (body,) = [message.body for message in db.session.scalars(select(OutboundMessage))]
    assert body.startswith("Call for the Pin: ")
    assert "código" in body
    assert "pin" not in body.removeprefix("Call for the Pin: ").lower()
