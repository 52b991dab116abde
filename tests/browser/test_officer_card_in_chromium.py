"""The officer card in real Chromium on a 375 x 667 phone, opened from the link a
dispatcher texted: the photo, the name and the age on the first screen, what helps and
what to avoid before everything else, nothing wider than the screen, axe-core finds
nothing; it opens again on the same phone, not on a second one, and not once the request
is closed. Once in English and once for an Arabic reader (right to left). Screenshots go
to SCREENSHOTS for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, FloatRect, Locator, Page, ViewportSize
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from tests.browser.conftest import AXE, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_officer_brief_in_chromium import WHAT_HELPS, plan_with_photo
from tests.console_helpers import csrf_token, make_user, sign_in, signed_in_dispatcher

NAME = "Marcus Hill"  # as plan_with_photo files it, born 1984-03-09
BORN = date(1984, 3, 9)
WHAT_TO_AVOID = "Touching him, standing close"
LINK = re.compile(r"https?://\S+/officer/\S+")

# Per language: the plan's phone, the unit's label and phone (the live app is shared by
# every browser test, so none of these may be used elsewhere).
CASES = {
    "en": ("+13145550391", "Unit 4107", "+13145550392"),
    "ar": ("+13145550393", "Unit 4108", "+13145550394"),
}


def age_today() -> int:
    today = date.today()
    return today.year - BORN.year - ((today.month, today.day) < (BORN.month, BORN.day))


def signed_in_admin(live_app: Flask, email: str) -> FlaskClient:
    client = live_app.test_client()
    secret = make_user(live_app, email, "admin")
    assert sign_in(live_app, client, email, secret).status_code == 302
    return client


def register_responder(admin: FlaskClient, label: str, number: str) -> None:
    token = csrf_token(admin, "/console/responders")
    added = admin.post("/console/responders", data={"csrf_token": token, "label": label, "number": number})
    assert added.status_code == 302, added.get_data(as_text=True)[:500]


def typed_in_request(dispatcher: FlaskClient, callback: str) -> str:
    """A 911 voice call from the plan's phone, typed in: it finds the plan."""
    token = csrf_token(dispatcher, "/console/requests/new")
    created = dispatcher.post(
        "/console/requests/new",
        data={"csrf_token": token, "location": "4500 Lindell Blvd", "callback": callback, "language": "en"},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    return created.headers["Location"].rsplit("/", 1)[1]


def text_the_card(dispatcher: FlaskClient, reference: str, label: str) -> None:
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    plan = re.search(r"/console/plans/([A-Z0-9-]+)/officer-card/text", page)
    assert plan, "no officer-card form on the request page"
    responder = re.search(rf'<option value="(\d+)">{label}</option>', page)
    assert responder, f"{label} is not offered"
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    sent = dispatcher.post(
        f"/console/plans/{plan.group(1)}/officer-card/text",
        data={"csrf_token": token, "responder": responder.group(1), "request_reference": reference},
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)[:500]
    assert f"is being texted to {label}" in sent.get_data(as_text=True)


def texted_path(live_app: Flask, unit_phone: str) -> str:
    """The link in the text to the unit's phone, as its texting app shows it; the path
    only, since the text names the public address and the test runs on a local port."""
    with live_app.app_context():
        texts = list(
            db.session.scalars(select(OutboundMessage).where(OutboundMessage.purpose == "officer_card"))
        )
        bodies = [text.body for text in texts if text.to_number == unit_phone]
    assert len(bodies) == 1, bodies
    assert "Marcus" not in bodies[0] and "Hill" not in bodies[0]  # the lock screen names no one
    found = LINK.search(bodies[0])
    assert found, bodies[0]
    return re.sub(r"^https?://[^/]+", "", found.group(0))


def close_request(dispatcher: FlaskClient, reference: str) -> None:
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": token, "disposition": "cit_dispatched", "cad_number": "", "text_texter": "no"},
    )
    assert closed.status_code == 302, closed.get_data(as_text=True)[:500]


@pytest.fixture
def phones(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Phones are opened by the test (it chooses their language); all are closed after."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def a_phone(browser: Browser, opened: list[BrowserContext], language: str) -> Page:
    context = browser.new_context(
        viewport=ViewportSize(width=PHONE["width"], height=PHONE["height"]),
        locale="en-US" if language == "en" else language,
        extra_http_headers={
            "Accept-Language": "en-US,en;q=0.9" if language == "en" else f"{language},en;q=0.5"
        },
    )
    context.add_init_script(path=str(AXE))
    opened.append(context)
    return context.new_page()


def box_of(locator: Locator) -> FloatRect:
    box = locator.first.bounding_box()
    assert box is not None, locator
    return box


def top_of(page: Page, selector: str) -> float:
    return box_of(page.locator(selector))["y"]


def bottom_of(page: Page, selector: str) -> float:
    box = box_of(page.locator(selector))
    return box["y"] + box["height"]


def no_sideways_scrolling(page: Page, where: str) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{where}: the page is {width} px wide"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_texted_card_on_a_phone(
    browser: Browser, phones: list[BrowserContext], live_server: str, live_app: Flask, language: str
) -> None:
    plan_phone, unit, unit_phone = CASES[language]
    plan_with_photo(live_app, plan_phone)
    admin = signed_in_admin(live_app, f"card-admin-{language}@example.org")
    register_responder(admin, unit, unit_phone)
    dispatcher = signed_in_dispatcher(live_app, f"card-dispatch-{language}@example.org")
    reference = typed_in_request(dispatcher, plan_phone)
    text_the_card(dispatcher, reference, unit)
    path = texted_path(live_app, unit_phone)
    suffix = "" if language == "en" else f"_{language}"
    SCREENSHOTS.mkdir(exist_ok=True)

    # The officer's phone opens the link.
    page = a_phone(browser, phones, language)
    opened = page.goto(live_server + path)
    assert opened is not None and opened.status == 200
    html = page.locator("html")
    if language == "ar":  # the card follows its reader's language
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    else:
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")

    photo = page.locator("img.portal-brief__photo")
    assert page.evaluate("img => img.complete && img.naturalWidth", photo.element_handle()) == 600
    assert 0 <= top_of(page, "img.portal-brief__photo") < PHONE["height"], (
        "the photo starts below the first screen"
    )
    name = page.locator(".portal-brief__name")
    assert NAME in name.inner_text()
    assert bottom_of(page, ".portal-brief__name") <= PHONE["height"], "the name is below the first screen"
    assert str(age_today()) in page.locator(".portal-brief__age").inner_text()
    assert bottom_of(page, ".portal-brief__age") <= PHONE["height"], "the age is below the first screen"

    # What helps and what to avoid come before the plan's other parts: the early signs,
    # the contacts, the request, where to find the person, the medicines.
    # (Their answers, whatever the labels' language; "written in English" may follow.)
    helps = box_of(page.locator(".portal-brief dd", has_text=WHAT_HELPS))
    avoid = box_of(page.locator(".portal-brief dd", has_text=WHAT_TO_AVOID))
    assert bottom_of(page, ".portal-brief__age") <= helps["y"] < avoid["y"]
    if language == "en":
        labels = page.locator(".portal-brief dt")
        helps_label = box_of(labels.filter(has_text="What helps the person calm down"))
        avoid_label = box_of(labels.filter(has_text="What officers should avoid"))
        assert helps_label["y"] < helps["y"] <= avoid_label["y"] < avoid["y"]
    for later in ("Rocks and covers his ears", "Dana Hill", "Lindell Blvd", "Main St", "Risperidone"):
        assert avoid["y"] < box_of(page.get_by_text(later))["y"], f"{later!r} comes before what to avoid"
    for section in ("#request", "#section-where", "#section-care"):
        assert avoid["y"] < top_of(page, section), section

    no_sideways_scrolling(page, "card")
    assert axe_violations(page) == [], f"card ({language})"
    page.screenshot(path=str(SCREENSHOTS / f"officer_card{suffix}_375.png"))
    page.screenshot(path=str(SCREENSHOTS / f"officer_card{suffix}_375_full.png"), full_page=True)

    # On arrival, the same phone opens it again; a copy forwarded to another phone does not.
    again = page.reload()
    assert again is not None and again.status == 200
    assert NAME in page.locator(".portal-brief__name").inner_text()
    other = a_phone(browser, phones, language)
    forwarded = other.goto(live_server + path)
    assert forwarded is not None and forwarded.status == 410
    assert NAME not in other.content()
    assert other.locator("main img").count() == 0
    if language == "en":
        assert "already opened on another phone" in other.locator("main").inner_text()

    # The request is closed: the card no longer opens, even on the first phone.
    close_request(dispatcher, reference)
    refused = page.reload()
    assert refused is not None and refused.status == 410
    main = page.locator("main").inner_text()
    if language == "en":
        assert "This card no longer opens" in page.locator("h1").inner_text()
        assert "The request it was sent for is closed." in main
    else:
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert "Marcus" not in page.content() and "Hill" not in page.content()
    assert page.locator("main img").count() == 0
    no_sideways_scrolling(page, "refusal")
    assert axe_violations(page) == [], f"refusal ({language})"
    page.screenshot(path=str(SCREENSHOTS / f"officer_card_closed{suffix}_375.png"))
