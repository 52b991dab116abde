"""The person a family filed for, on a 375 px phone in English and in Arabic: the code,
the plan, and their answer; and what whoever filed sees meanwhile. axe-core on every
page; screenshots go to SCREENSHOTS for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.plans.models import CrisisPlan
from tests.browser.conftest import AXE, PHONE, SCREENSHOTS, axe_violations
from tests.registry_helpers import CONSENT, CRISIS, PERSON, Registrant, e164

NAME = "Daniel Okafor-Brandt"
WHAT_HELPS = "Let him pace; talk about the Cardinals"
NOTE = "Please take out the part about the hospital on Grand."
# Each run its own phones: the live app and its outbox serve the whole session.
PHONES = {"": ("(314) 555-0140", "(314) 555-0141"), "/ar": ("(314) 555-0142", "(314) 555-0143")}


class FamilyRegistrant(Registrant):
    person_phone: str | None = None

    def verify_phone(self, position: int, code: str):  # type: ignore[no-untyped-def]
        response = super().verify_phone(position, code)
        if position == 0 and self.person_phone:
            self.add_phone(self.person_phone, "person")
            assert super().verify_phone(1, self.last_code(e164(self.person_phone))).status_code == 302
        return response


def file_for_daniel(app: Flask, filer: str, person: str | None, language: str) -> str:
    family = FamilyRegistrant(app, app.test_client())
    family.person_phone = person
    family.file_plan(
        phone=filer,
        consent={**CONSENT, "filed_by": "family", "language": language},
        person={**PERSON, "name": NAME},
        crisis={**CRISIS, "what_helps": WHAT_HELPS},
    )
    with app.app_context():
        return db.session.scalars(select(CrisisPlan.reference).order_by(CrisisPlan.id.desc())).first() or ""


def shot(page: Page, name: str, *, full: bool = True) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"person-consent-{name}.png"), full_page=full)


def check(page: Page, where: str) -> None:
    assert axe_violations(page) == [], where


@pytest.fixture
def filer_page(browser: Browser) -> Iterator[Page]:
    """A second browser: whoever filed, on their own phone."""
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.add_init_script(path=str(AXE))
    yield context.new_page()
    context.close()


def sign_in(page: Page, base: str, app: Flask, number: str) -> None:
    page.goto(f"{base}/crisis-plan/sign-in")
    page.fill("#number", number)
    page.locator("main button[type=submit]").first.click()
    page.fill("#code", Registrant(app, app.test_client()).last_code(e164(number)))
    page.locator("main button[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text("-")


@pytest.mark.parametrize("prefix", ["", "/ar"])
def test_the_person_sees_the_plan_and_answers(
    page: Page, filer_page: Page, live_server: str, live_app: Flask, prefix: str
) -> None:
    lang = prefix.strip("/") or "en"
    filer, person = PHONES[prefix]
    reference = file_for_daniel(live_app, filer, person, lang)
    base = live_server + prefix
    page.set_viewport_size(PHONE)

    # Whoever filed: what is missing, and how to get it.
    sign_in(filer_page, base, live_app, filer)
    waiting = filer_page.locator("#awaiting-heading")
    expect(waiting).to_contain_text(NAME)
    expect(filer_page.locator("form[action$='/crisis-plan/confirm/send-again'] button")).to_be_visible()
    check(filer_page, "filer waiting")
    shot(filer_page, f"{lang}-0-filer-waiting")

    # Step one: his phone and the code; a wrong code first.
    page.goto(f"{base}/crisis-plan/confirm")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    check(page, "confirm")
    shot(page, f"{lang}-1-code")
    page.fill("#phone-number", person)
    page.fill("#confirm-code", "000000")
    page.click("main form >> nth=0 >> button[type=submit]")
    expect(page.locator(".portal-error-summary")).to_be_visible()
    expect(page.locator("#phone-number")).to_have_value(person)  # nothing typed is lost
    check(page, "confirm, wrong code")
    shot(page, f"{lang}-2-wrong-code")

    code = Registrant(live_app, live_app.test_client()).last_code(e164(person))
    page.fill("#confirm-code", code)
    page.click("main form >> nth=0 >> button[type=submit]")

    # Step two: the plan, then three answers.
    expect(page.locator("main")).to_contain_text(WHAT_HELPS)
    expect(page.locator("main")).to_contain_text(NAME)
    check(page, "summary")
    shot(page, f"{lang}-3-summary")
    shot(page, f"{lang}-3-summary-top", full=False)

    if prefix == "":
        page.fill("#note", NOTE)
        page.click("button[name=answer][value=changes]")
        expect(page.locator("#person-heading")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Your note is saved")
        check(page, "his plan, changes asked")
        shot(page, f"{lang}-4-his-plan-changes")

        filer_page.reload()
        expect(filer_page.locator("main")).to_contain_text(NOTE)
        check(filer_page, "filer reads the note")
        shot(filer_page, f"{lang}-5-filer-note")

        page.click("#person-heading ~ form button[value=agree]")
        expect(page.locator("main")).to_contain_text("You agreed with it on")
        check(page, "his plan, agreed")
        shot(page, f"{lang}-6-his-plan-agreed", full=False)
        page.goto(f"{base}/crisis-plan/confirm/plan")
        expect(page).to_have_url(f"{base}/crisis-plan/")  # not asked again
    else:
        page.click("button[name=answer][value=decline]")
        expect(page).to_have_url(f"{base}/crisis-plan/confirm/done")
        expect(page.locator("main")).not_to_contain_text(reference)
        check(page, "deleted")
        shot(page, f"{lang}-4-deleted")
        with live_app.app_context():
            assert db.session.scalar(select(CrisisPlan.id).where(CrisisPlan.reference == reference)) is None


def test_whoever_filed_is_shown_how_to_add_the_persons_phone(
    filer_page: Page, live_server: str, live_app: Flask
) -> None:
    file_for_daniel(live_app, "(314) 555-0144", None, "en")
    sign_in(filer_page, live_server, live_app, "(314) 555-0144")
    button = filer_page.get_by_role("button", name=f"Add {NAME}’s phone so they can confirm")
    expect(button).to_be_visible()
    check(filer_page, "filer, no person phone")
    shot(filer_page, "en-7-filer-no-person-phone", full=False)
    button.click()
    expect(filer_page.locator("#add-number")).to_be_visible()
