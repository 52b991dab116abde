"""The hand-off panel and the partner's queue while they poll, in real Chromium: what a
dispatcher types into the panel is not wiped by the next poll; when the partner's outcome
arrives, the request page offers one way to close (with the outcome), not two; the
partner's queue counts what waits in the tab's title, like the dispatchers' queue."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from portal.console.models import ConsoleUser
from portal.dispatch import handoffs
from portal.dispatch.models import CitRequest
from portal.extensions import db
from tests.browser.conftest import AXE, DESKTOP
from tests.browser.test_handoff_in_chromium import partner_account, sign_in
from tests.console_helpers import make_user
from tests.text_line_helpers import send_text

BHR = "Behavioral Health Response (BHR)"  # the crisis line of portal/agency.toml, on all day


def handed_request(live_app: Flask, texter: str) -> str:
    """A texted request, handed to the crisis line by another dispatcher."""
    send_text(live_app.test_client(), "PIN 700 Clark Ave, my son is in crisis", sender=texter)
    with live_app.app_context():
        handoffs.register_partners()
        item = db.session.scalars(select(CitRequest).order_by(CitRequest.id.desc())).first()
        assert item is not None
        partner = handoffs.find_partner("bhr")
        assert partner is not None
        assert handoffs.hand_off(item, partner, "Dispatcher other.desk@example.org") is not None
        db.session.commit()
        return item.reference


def send_outcome(live_app: Flask, reference: str) -> None:
    with live_app.app_context():
        item = db.session.scalars(select(CitRequest).where(CitRequest.reference == reference)).one()
        handoff = handoffs.current_handoff(item)
        assert handoff is not None
        handoffs.record_outcome(
            handoff,
            disposition="behavioral_health_line",
            referral=None,
            note="Talked it through on the phone.",
            by=f"Partner counsellor@bhr.example.org ({BHR})",
        )
        db.session.commit()


def desk(browser: Browser, live_server: str, live_app: Flask) -> tuple[BrowserContext, Page]:
    email = f"desk.{uuid.uuid4().hex[:8]}@example.org"
    secret = make_user(live_app, email, "dispatcher")
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    sign_in(page, live_server, email, secret)
    expect(page.locator("h1")).to_have_text("CIT request queue")
    return context, page


def next_polls(page: Page, reference: str, count: int) -> None:
    """Wait until the panel has been polled `count` more times (answers received)."""
    for _ in range(count):
        with page.expect_response(
            lambda response: (
                response.url.endswith(f"/console/requests/{reference}/hand-off")
                and response.request.method == "GET"
            )
        ):
            pass


def test_what_is_typed_in_the_accept_form_outlives_the_polling(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    reference = handed_request(live_app, "+13145550331")
    send_outcome(live_app, reference)
    context, page = desk(browser, live_server, live_app)
    try:
        page.goto(f"{live_server}/console/requests/{reference}")
        cad = page.locator("#hand-off input[name=accept-cad_number]")
        cad.fill("26-0099")
        page.locator("#hand-off label:has-text('No')").click()  # the texter is not to be told
        page.locator("h1").click()  # looks elsewhere: the focus leaves the panel
        # Meanwhile the co-responder team's first account is set up: the partners one
        # could hand to change, which this panel (an outcome to accept) does not show.
        make_user(live_app, f"new.{uuid.uuid4().hex[:8]}@team.example.org", "partner")
        with live_app.app_context():
            team = handoffs.find_partner("co-responder")
            assert team is not None
            newest = db.session.scalars(select(ConsoleUser).order_by(ConsoleUser.id.desc())).first()
            assert newest is not None
            newest.partner_id = team.id
            db.session.commit()
        next_polls(page, reference, 2)
        expect(cad).to_have_value("26-0099")
        expect(page.locator("#hand-off input[name=accept-text_texter][value=no]")).to_be_checked()
    finally:
        context.close()


def test_when_the_outcome_arrives_the_request_closes_one_way(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    reference = handed_request(live_app, "+13145550332")
    context, page = desk(browser, live_server, live_app)
    try:
        page.goto(f"{live_server}/console/requests/{reference}")
        expect(page.locator("#close")).to_be_visible()
        send_outcome(live_app, reference)
        expect(page.locator("#hand-off")).to_contain_text("Talked it through on the phone.", timeout=3000)
        # The close form with a disposition to choose gives way to the partner's.
        expect(page.locator("#close")).to_have_count(0)
        expect(page.locator("button:has-text('Close request')")).to_have_count(0)
        expect(page.locator("button:has-text('Accept the outcome and close the request')")).to_be_visible()
    finally:
        context.close()


def test_the_partner_queue_counts_what_waits_in_the_title(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    email = f"counsellor.{uuid.uuid4().hex[:8]}@bhr.example.org"
    with live_app.app_context():
        handoffs.register_partners()
        db.session.commit()
    secret = partner_account(live_app, email, "bhr")
    with live_app.app_context():
        partner = handoffs.find_partner("bhr")
        assert partner is not None
        waiting_before = sum(h.state == "waiting" for h in handoffs.partner_handoffs(partner.id))
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, live_server, email, secret)
        expect(page.locator("h1")).to_have_text(f"Hand-offs to {BHR}")
        handed_request(live_app, "+13145550333")
        expect(page).to_have_title(
            re.compile(rf"^\({waiting_before + 1} waiting\) Hand-offs to {re.escape(BHR)}"), timeout=3000
        )
        # Not acknowledged: marked in gold, as on the dispatchers' queue.
        cell = page.locator("tr", has_text="Not acknowledged").first.locator("td").first
        assert cell.evaluate("td => getComputedStyle(td).backgroundColor") == "rgb(254, 240, 200)"
    finally:
        context.close()


def test_new_texts_and_notes_show_on_both_sides_without_reloading(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    """While the dispatcher and the partner each have the request open, the texter texts
    again and the partner adds a note: both appear on both pages within 3 seconds."""
    texter = "+13145550334"
    reference = handed_request(live_app, texter)
    email = f"counsellor.{uuid.uuid4().hex[:8]}@bhr.example.org"
    secret = partner_account(live_app, email, "bhr")
    desk_context, desk_page = desk(browser, live_server, live_app)
    team_context = browser.new_context(viewport=DESKTOP, locale="en-US")
    team = team_context.new_page()
    try:
        desk_page.goto(f"{live_server}/console/requests/{reference}")
        sign_in(team, live_server, email, secret)
        team.locator(f"a:has-text('{reference}')").click()
        expect(team.locator("h1")).to_have_text(f"Request {reference}")
        desk_page.evaluate("window.samePage = true")
        team.evaluate("window.samePage = true")
        # New messages are added to the list, which a screen reader reads out as they
        # come: the messages already there stay as they are.
        expect(desk_page.locator("ol.portal-thread")).to_have_attribute("aria-live", "polite")
        desk_page.evaluate("document.querySelector('.portal-thread li').dataset.seen = 'yes'")

        send_text(live_app.test_client(), "he just locked himself in the bathroom", sender=texter)
        for page in (desk_page, team):
            expect(page.locator(".portal-thread")).to_contain_text(
                "locked himself in the bathroom", timeout=3000
            )
        expect(desk_page.locator(".portal-thread li").first).to_have_attribute("data-seen", "yes")

        team.locator("#add-note textarea").fill("Clinician on the phone with him now.")
        team.locator("#add-note button[type=submit]").click()
        expect(desk_page.locator(".portal-thread")).to_contain_text(
            "Clinician on the phone with him now.", timeout=3000
        )
        assert desk_page.evaluate("window.samePage") is True, "the dispatcher's page was reloaded"
    finally:
        desk_context.close()
        team_context.close()
