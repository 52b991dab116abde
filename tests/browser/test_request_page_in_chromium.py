"""A CIT request's page in real Chromium: two columns at a dispatcher's 1280 px (the
facts and messages beside the actions), one column on a 375 px phone with nothing
wider than the screen; every code in words; closing without a disposition refused with
nothing lost; a voice call typed in finds its plan; the reason page offers the common
reasons; console pages are the console's own; axe-core finds nothing. Screenshots go
to SCREENSHOTS for a person to look at."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from portal.audit import PLAN_VIEW, AuditEvent
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.phones import phone_index
from portal.plans.services import file_plan
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_console_in_chromium import sign_in_page
from tests.console_helpers import make_user
from tests.text_line_helpers import send_text

SON = "+13145550277"
PENDING = "+13145550278"

# What must never show on the page, and the words that say the same.
RAW = (
    "dispatch_alert",
    "fallback_alert",
    "texter_reply",
    "accepted",
    "undelivered",
    "cit_dispatched",
    "queued",
)
WORDS = (
    "Alert to a dispatch phone",
    "Handed to the phone network",
    "Failed: the phone is switched off or out of reach (error 30003)",
    "Not delivered",
    "Text to the texter",
    "Not acknowledged",
)


def check(page: Page, where: str) -> None:
    assert axe_violations(page) == [], where


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def a_plan(live_app: Flask) -> str:
    with live_app.app_context():
        plan = file_plan(
            {"person": {"name": "Daniel Okafor"}, "crisis": {"what_helps": "Quiet voice, let him pace"}},
            name="Daniel Okafor",
            born=date(1999, 3, 14),
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[(SON, "person"), (PENDING, "pending")],
        )
        db.session.commit()
        return plan.reference


def a_texted_request_with_alerts(live_app: Flask, texter: str) -> str:
    client = live_app.test_client()
    send_text(client, "PIN 4500 Lindell Blvd, apartment 3, the back door", sender=texter)
    send_text(client, "he has a knife now, he is in the kitchen", sender=texter)
    with live_app.app_context():
        item = db.session.scalars(
            select(CitRequest).where(CitRequest.callback_index == phone_index(texter))
        ).one()
        for number in ("+13145550111", "+13145550112", "+13145550119"):
            purpose = "fallback_alert" if number.endswith("19") else "dispatch_alert"
            queue_message(to=number, body="x", sender="line", purpose=purpose, cit_request_id=item.id)
        sent = db.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.cit_request_id == item.id)
            .order_by(OutboundMessage.id)
        ).all()
        for message, (status, error) in zip(
            sent[-3:], [("accepted", None), ("failed", 30003), ("undelivered", 30005)], strict=True
        ):
            message.status, message.error_code = status, error
        db.session.commit()
        return item.reference


def test_the_request_page_at_a_desk_and_on_a_phone(page: Page, live_server: str, live_app: Flask) -> None:
    secret = make_user(live_app, "desk@example.org", "dispatcher")
    reference = a_texted_request_with_alerts(live_app, "+13145550255")
    sign_in_page(page, live_server, "desk@example.org", secret)

    # The console's own chrome: no public strip or footer; who is signed in.
    expect(page.locator(".portal-emergency")).to_have_count(0)
    expect(page.locator("footer")).to_have_count(0)
    expect(page.locator("header")).to_contain_text("Signed in: desk@example.org, Dispatcher")
    expect(page.locator("form[action$='/console/sign-out'][method=post] button")).to_have_text("Sign out")

    page.goto(f"{live_server}/console/requests/{reference}")
    page.check("#template-0")
    page.click("button:has-text('Send text')")
    expect(page.locator("main")).to_contain_text("The text is on its way.")
    main = page.locator("main")
    text = main.inner_text()
    for raw in RAW:
        assert raw not in text, raw
    for words in WORDS:
        assert words in text, words
    check(page, "request at 1280")

    # Two columns: the facts and the messages on one side, the actions on the other.
    facts, thread = box(page.locator(".portal-request__facts")), box(page.locator(".portal-request__thread"))
    first, forms = box(page.locator(".portal-request__first")), box(page.locator(".portal-request__forms"))
    assert facts["x"] + facts["width"] <= first["x"] and facts["x"] + facts["width"] <= forms["x"]
    assert first["y"] < facts["y"] + facts["height"], "the Acknowledge button is beside the facts"
    assert abs(thread["x"] - facts["x"]) < 1 and thread["y"] >= facts["y"] + facts["height"]
    assert forms["y"] < thread["y"] + thread["height"], "the forms run beside the messages"
    assert forms["y"] - (first["y"] + first["height"]) < 24, "no gap in the actions column"
    # The first screen has what a dispatcher acts on: the facts and Acknowledge.
    assert facts["y"] + facts["height"] <= DESKTOP["height"]
    assert first["y"] + first["height"] <= DESKTOP["height"]
    page.screenshot(path=str(SCREENSHOTS / "1280-console-request.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    facts, thread = box(page.locator(".portal-request__facts")), box(page.locator(".portal-request__thread"))
    first, forms = box(page.locator(".portal-request__first")), box(page.locator(".portal-request__forms"))
    sent = box(page.locator(".portal-request__sent"))
    # One column, in this order: facts, acknowledge and plan, messages, forms, texts sent.
    tops = [facts["y"], first["y"], thread["y"], forms["y"], sent["y"]]
    assert tops == sorted(tops), tops
    for part in (facts, first, thread, forms, sent):
        assert part["x"] + part["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    check(page, "request at 375")
    page.screenshot(path=str(SCREENSHOTS / "375-console-request.png"), full_page=True)


def test_closing_without_a_disposition_keeps_what_was_typed(
    page: Page, live_server: str, live_app: Flask
) -> None:
    secret = make_user(live_app, "closer@example.org", "dispatcher")
    reference = a_texted_request_with_alerts(live_app, "+13145550256")
    sign_in_page(page, live_server, "closer@example.org", secret)
    page.goto(f"{live_server}/console/requests/{reference}")
    expect(page.locator("#disposition")).to_have_value("")  # nothing chosen beforehand
    page.fill("#cad_number", "24-118877")
    page.check("#text_texter-1")  # "No"
    page.click("button:has-text('Close request')")
    expect(page.locator("#close")).to_contain_text("Choose a disposition: how the request ended.")
    expect(page.locator("#cad_number")).to_have_value("24-118877")
    expect(page.locator("#text_texter-1")).to_be_checked()
    check(page, "close refused")
    page.screenshot(path=str(SCREENSHOTS / "1280-console-request-close-refused.png"))
    page.select_option("#disposition", "co_responder")
    page.click("button:has-text('Close request')")
    expect(page.locator("main")).to_contain_text("is closed")
    expect(page.locator(".portal-request__facts")).to_contain_text("Co-responder team")
    expect(page.locator(".portal-request__facts")).to_contain_text("24-118877")
    check(page, "closed request")


def test_a_voice_call_finds_its_plan_and_the_plan_asks_why(
    page: Page, live_server: str, live_app: Flask
) -> None:
    secret = make_user(live_app, "voice@example.org", "dispatcher")
    plan = a_plan(live_app)
    sign_in_page(page, live_server, "voice@example.org", secret)

    def type_in(callback: str) -> str:
        page.goto(live_server + "/console/requests/new")
        page.fill("#location", "4500 Lindell Blvd")
        page.fill("#callback", callback)
        page.click("main button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Request R-")
        return re.search(r"R-[2-9A-Z]{6}", page.locator("h1").inner_text()).group(0)  # type: ignore[union-attr]

    type_in("(314) 555-0278")  # a pending phone: no plan
    expect(page.locator(".portal-request__facts")).to_contain_text("none on file for this number")
    expect(page.locator(".portal-request__facts")).not_to_contain_text(plan)

    reference = type_in("(314) 555-0277")
    facts = page.locator(".portal-request__facts")
    expect(facts).to_contain_text(plan)
    expect(facts).to_contain_text("CIT requested")
    expect(facts).not_to_contain_text("none on file")
    check(page, "voice request with a plan")
    page.screenshot(path=str(SCREENSHOTS / "1280-console-request-voice.png"), full_page=True)

    # The reason page (from the look-up, without a reason): the common reasons, none chosen.
    page.goto(live_server + "/console/plans")
    page.fill("#phone", "(314) 555-0277")
    page.click("main button[type=submit]")
    # Opened with no reason at all (the look-up's words box taken out, as a button that
    # only opens): the reason page asks, with no error.
    page.locator("form.portal-plan-result").first.evaluate(
        "form => form.querySelector('[name=reason]').remove()"
    )
    page.locator(".portal-plan-result button[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text(f"Why are you opening plan {plan}?")
    expect(page.locator(".portal-error-summary")).to_have_count(0)
    choices = page.locator("fieldset .usa-radio__label")
    expect(choices).to_have_text(
        ["Incoming 911 call", f"The linked request {reference}", "CIT officer en route", "Other reason"]
    )
    for index in range(4):
        expect(page.locator(f"#choice-{index}")).not_to_be_checked()
    check(page, "reason page")
    page.screenshot(path=str(SCREENSHOTS / "1280-console-plan-reason.png"), full_page=True)
    page.click(f"text=The linked request {reference}")
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("Quiet voice, let him pace")
    with live_app.app_context():
        view = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == PLAN_VIEW, AuditEvent.plan_reference == plan)
            .order_by(AuditEvent.id.desc())
        ).first()
    assert view is not None and (view.reason, view.request_reference) == (
        f"CIT request {reference}",
        reference,
    )

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/console/requests/{reference}")
    check(page, "voice request at 375")
    page.screenshot(path=str(SCREENSHOTS / "375-console-request-voice.png"), full_page=True)
