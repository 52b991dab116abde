"""A hand-off in Arabic, in real Chromium: the crisis line's counsellor and the peer
worker on 375 px phones, the dispatcher at a 1280 px desk, every browser asking for
Arabic. Each page reads right to left, in Arabic, without sideways scrolling and without
axe-core violations; a form sent wrong says so in Arabic and keeps what was typed; the
family's texts go in Arabic. Screenshots go to SCREENSHOTS for a person to look at."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from portal.dispatch import handoffs
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index
from tests.browser.conftest import AXE, DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_handoff_in_chromium import opted_in_plan, partner_account, sign_in
from tests.console_helpers import make_user
from tests.text_line_helpers import send_text

TEXTER = "+13145550320"
NAME = "سلمى الحداد"
WHAT_HELPS = "التحدث بهدوء وإطفاء الأضواء القوية"
DISPATCHER = "desk.arabic@example.org"
COUNSELLOR = "rana.arabic@bhr.example.org"
BHR = "Behavioral Health Response (BHR)"  # portal/agency.toml
PEER = "sami.arabic@peers.example.org"
# A counsellor's note as typed on a phone: Arabic, a Latin place name, an emoji, a line break.
NOTE = "تحدثت معها عبر الهاتف 🙏 ستبقى مع أختها الليلة.\nموعد في BJC غدا الساعة 10"


def arabic_plan(live_app: Flask) -> str:
    answers = {"person": {"name": NAME}, "crisis": {"what_helps": WHAT_HELPS}}
    return opted_in_plan(live_app, answers, name=NAME, born=date(1988, 3, 2), language="ar", texter=TEXTER)


def arabic_browser(browser: Browser, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=viewport, locale="ar", extra_http_headers={"Accept-Language": "ar"}
    )
    context.add_init_script(path=str(AXE))
    return context, context.new_page()


def look(page: Page, name: str) -> None:
    """Right to left, no sideways scrolling, no axe violation; a screenshot to look at."""
    page.wait_for_load_state()  # a button just pressed may still be loading the next page
    assert page.evaluate("document.documentElement.dir") == "rtl", name
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name}: sideways scrolling"
    assert axe_violations(page) == [], name
    page.screenshot(path=str(SCREENSHOTS / f"handoff_ar_{name}.png"), full_page=True)


def test_a_hand_off_in_arabic_on_phones(browser: Browser, live_server: str, live_app: Flask) -> None:
    with live_app.app_context():
        handoffs.register_partners()
        db.session.commit()
    desk_secret = make_user(live_app, DISPATCHER, "dispatcher")
    counsellor_secret = partner_account(live_app, COUNSELLOR, "bhr")
    peer_secret = partner_account(live_app, PEER, "peer-follow-up")
    arabic_plan(live_app)
    send_text(live_app.test_client(), "PIN 4500 Lindell Blvd أختي في أزمة ولا تريد الخروج", sender=TEXTER)
    with live_app.app_context():
        item = db.session.scalars(
            select(CitRequest).where(CitRequest.callback_index == phone_index(TEXTER))
        ).one()
        reference, request_id = item.reference, item.id

    desk_context, desk = arabic_browser(browser, DESKTOP)
    team_context, team = arabic_browser(browser, PHONE)
    peer_context, peers = arabic_browser(browser, PHONE)
    try:
        sign_in(team, live_server, COUNSELLOR, counsellor_secret)
        expect(team.locator("h1")).to_contain_text("Behavioral Health Response")
        look(team, "partner_queue_empty_375")

        sign_in(desk, live_server, DISPATCHER, desk_secret)
        desk.goto(f"{live_server}/console/requests/{reference}")
        desk.locator("#hand-off select[name=partner]").select_option(label=BHR)
        desk.locator("#hand-off button[type=submit]").click()
        look(desk, "dispatcher_handed_1280")

        row = team.locator("tr", has=team.locator(f"a:has-text('{reference}')"))
        expect(row).to_be_visible(timeout=3000)
        look(team, "partner_queue_375")
        row.locator("a").click()
        look(team, "partner_request_375")

        facts = team.locator(".portal-request__facts")
        # Arabic around the data: the dispatcher's role in Arabic, the address whole and
        # apart; the texter's language named in Arabic.
        expect(facts).to_contain_text("العربية")
        expect(facts).not_to_contain_text("Arabic")
        expect(facts.locator("bdi", has_text=DISPATCHER)).to_have_count(1)
        expect(facts).not_to_contain_text("Dispatcher")

        # The big button first: acknowledge.
        team.locator("main .usa-button--big").click()
        look(team, "partner_acknowledged_375")
        expect(facts.locator("bdi", has_text=COUNSELLOR)).to_contain_text(f"{COUNSELLOR} ({BHR})")
        expect(facts).not_to_contain_text("Partner")

        # The plan, a click away, recorded: on the phone, in Arabic.
        team.locator("main form:not(.usa-form) button.usa-button--outline").click()
        expect(team.locator("main")).to_contain_text(WHAT_HELPS)
        look(team, "partner_plan_375")
        team.go_back()
        team.reload()

        # The outcome sent with nothing chosen: an Arabic message, the note kept.
        outcome = team.locator("#outcome")
        outcome.locator("textarea").first.fill(NOTE)
        outcome.locator("button[type=submit]").click()
        look(team, "partner_outcome_error_375")
        expect(team.locator("#outcome textarea").first).to_have_value(NOTE)

        team.locator("#outcome select").first.select_option(index=1)
        team.locator("#outcome select").nth(1).select_option(index=2)
        team.locator("#outcome button[type=submit]").click()
        look(team, "partner_outcome_sent_375")

        panel = desk.locator("#hand-off")
        expect(panel).to_contain_text("BJC", timeout=3000)
        look(desk, "dispatcher_outcome_1280")
        desk.set_viewport_size(PHONE)
        look(desk, "dispatcher_outcome_375")
        desk.set_viewport_size(DESKTOP)
        panel.locator("form button[type=submit]").click()
        look(desk, "dispatcher_closed_1280")

        sign_in(peers, live_server, PEER, peer_secret)
        look(peers, "peer_queue_375")
        peers.locator(f"a:has-text('{reference}')").click()
        look(peers, "peer_follow_up_375")
        peers.locator("main form.usa-form button[type=submit]").click()
        look(peers, "peer_follow_up_error_375")
    finally:
        for context in (desk_context, team_context, peer_context):
            context.close()

    with live_app.app_context():
        bodies = list(
            db.session.scalars(
                select(OutboundMessage.body).where(
                    OutboundMessage.cit_request_id == request_id, OutboundMessage.sender == "notices"
                )
            )
        )
    assert len(bodies) == 2, bodies  # the plan opened; the request closed
    for body in bodies:
        words = re.sub(r"https?://\S+", "", body.removeprefix("Call for the Pin: "))
        # Arabic, with nothing in English but the program's name and a link.
        assert re.search("[\u0600-\u06ff]{3,}", words), body
        assert not re.search(r"\b(the|was|your|plan|request|opened|closed)\b", words, re.I), body
