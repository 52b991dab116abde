"""The officer brief in real Chromium, at a dispatcher's 1280 px and on a 375 px phone:
the photo is on the first screen, beside the key facts on the desk, above them on the
phone; axe-core finds nothing. Screenshots go to SCREENSHOTS for a person to look at."""

from __future__ import annotations

import io
from datetime import date

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.plans.services import file_plan
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_console_in_chromium import sign_in_page
from tests.console_helpers import make_user

APPEARANCE = "About 6 ft, thin, red baseball cap, green backpack, often barefoot"
WHAT_HELPS = "Quiet voice, space, let him hold his tablet"


def portrait() -> bytes:
    """A stand-in portrait, 600 x 800, as the registry stores photos (JPEG)."""
    image = Image.new("RGB", (600, 800), "#5b7a99")
    draw = ImageDraw.Draw(image)
    draw.ellipse((180, 140, 420, 420), fill="#e3b98f")
    draw.rectangle((120, 440, 480, 800), fill="#c0392b")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def plan_with_photo(live_app: Flask, phone: str) -> str:
    with live_app.app_context():
        plan = file_plan(
            {
                "person": {
                    "name": "Marcus Hill",
                    "preferred_name": "Marc",
                    "pronouns": "he/him",
                    "birth_date": "1984-03-09",
                    "spoken_language": "English",
                    "interpreter": "no",
                    "communication": ["autistic", "device"],
                    "description": APPEARANCE,
                },
                "where": {"home_address": "4500 Main St, St. Louis"},
                "crisis": {
                    "early_signs": "Rocks and covers his ears",
                    "triggers": ["sirens", "touch"],
                    "what_helps": WHAT_HELPS,
                    "what_to_avoid": "Touching him, standing close",
                    "weapons": "no",
                    "self_harm": "unsure",
                },
                "care": {"medications": "Risperidone"},
                "people": {"emergency_contacts": "Sister, Dana Hill, (314) 555-0190"},
            },
            name="Marcus Hill",
            born=date(1984, 3, 9),
            language="en",
            cit_requested=True,
            filed_by="guardian",
            phones=[(phone, "filer")],
            photo_jpeg=portrait(),
        )
        db.session.commit()
        return plan.reference


@pytest.mark.parametrize(
    ("viewport", "name", "phone"),
    [(DESKTOP, "desktop", "+13145550181"), (PHONE, "phone", "+13145550182")],
)
def test_the_photo_is_on_the_first_screen(
    page: Page, live_server: str, live_app: Flask, viewport: dict[str, int], name: str, phone: str
) -> None:
    reference = plan_with_photo(live_app, phone)
    email = f"brief-{name}@example.org"
    secret = make_user(live_app, email, "dispatcher")
    page.set_viewport_size(viewport)
    sign_in_page(page, live_server, email, secret)

    page.goto(live_server + "/console/plans")
    page.fill("#reference", reference)
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("Filed by legal guardian")
    page.fill("#reason-1", "Call 24-000123, man on Main St")
    page.click("button:has-text('Open plan (recorded)')")
    expect(page.locator("h1")).to_contain_text(reference)

    photo = page.get_by_role("img", name="Photo of Marcus Hill")
    expect(photo).to_be_visible()
    box = photo.bounding_box()
    assert box is not None
    assert box["y"] < viewport["height"], f"the photo starts below the first screen: {box}"
    assert box["y"] + box["height"] <= viewport["height"], f"the photo is cut by the first screen: {box}"
    assert box["width"] >= 120 and box["height"] >= 160, f"too small to recognise a face: {box}"
    assert page.evaluate("img => img.complete && img.naturalWidth", photo.element_handle()) == 600

    appearance = page.get_by_text(APPEARANCE)
    expect(appearance).to_be_visible()
    facts = appearance.bounding_box()
    assert facts is not None
    if name == "desktop":  # beside the photo
        assert facts["x"] >= box["x"] + box["width"] and facts["y"] < box["y"] + box["height"], (box, facts)
    else:  # below it
        assert facts["y"] >= box["y"] + box["height"], (box, facts)
    helps = page.get_by_text(WHAT_HELPS).bounding_box()
    assert helps is not None and helps["y"] > facts["y"], "what helps comes after who to look for"
    expect(page.locator(".portal-brief")).to_contain_text("Age ")
    expect(page.locator(".portal-brief")).to_contain_text("Filed by legal guardian")
    no_sideways_scroll = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert page.evaluate(no_sideways_scroll), "the page scrolls sideways"

    assert axe_violations(page) == [], name
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"officer-brief-{name}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"officer-brief-{name}-full.png"), full_page=True)
