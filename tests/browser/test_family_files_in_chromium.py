"""A mother files a plan for her adult son on a 375 px phone, in English and in Arabic,
the way people really do it: she presses the big "Continue" with a number typed and a
photo chosen, her browser restarts half-way, she checks her answers and files.

axe-core runs on every page; a screenshot of every step is saved for a person to look at.
"""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.plans.models import CrisisPlan
from tests.browser.conftest import AXE, PHONE, SCREENSHOTS, axe_violations
from tests.registry_helpers import Registrant

NEXT = "button[name=action][value=next]"
SON = "Daniel Brooks"


def son_photo() -> bytes:
    """A phone photo with the family's home in its GPS tags."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (38.0, 37.0, 12.0), 3: "W", 4: (90.0, 11.0, 50.0)}
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), "olive").save(out, format="JPEG", exif=exif)
    return out.getvalue()


def looked_at(page: Page, name: str) -> None:
    assert axe_violations(page) == [], name
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"family-{name}.png"), full_page=True)


@pytest.mark.parametrize("prefix", ["", "/ar"])
def test_a_mother_files_for_her_adult_son(
    browser: Browser, live_server: str, live_app: Flask, prefix: str
) -> None:
    lang = prefix.strip("/") or "en"
    filer, son = ("+13145550111", "+13145550122") if not prefix else ("+13145550133", "+13145550144")
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(f"{live_server}{prefix}/crisis-plan/start")
    looked_at(page, f"{lang}-start")
    page.click("button[name=action][value=new]")

    page.fill("#name", SON)
    page.fill("#birth_date", "1985-06-01")
    page.fill("#description", "Tall, grey hoodie, often wears headphones.")
    page.check("input[name=communication][value=autistic]")
    looked_at(page, f"{lang}-1-person")
    page.click(NEXT)

    # The photo is chosen, then the big Continue pressed instead of "Upload photo".
    expect(page.locator("#photo")).to_be_attached()
    page.set_input_files("#photo", {"name": "daniel.jpg", "mimeType": "image/jpeg", "buffer": son_photo()})
    looked_at(page, f"{lang}-2-photo")
    page.click(NEXT)
    expect(page.locator("#home_address")).to_be_visible()
    page.fill("#home_address", "4500 Main St, St. Louis")
    looked_at(page, f"{lang}-3-where")
    page.click(NEXT)

    # Her own number, typed, then the big Continue: the code is sent, the number kept.
    page.fill("#add-number", f"({filer[2:5]}) {filer[5:8]}-{filer[8:]}")
    page.check("input[name=add-role][value=filer]")
    page.click(NEXT)
    expect(page.locator("#verify-code-0")).to_be_visible()
    page.fill("#verify-code-0", Registrant(live_app, live_app.test_client()).last_code(filer))
    page.click("button[name=action][value='verify:0']")
    expect(page.locator(".usa-tag--verified")).to_have_count(1)
    # Her son's number: he is not with her, so it cannot be verified now.
    page.fill("#add-number", f"{son[2:5]}-{son[5:8]}-{son[8:]}")
    page.check("input[name=add-role][value=person]")
    page.click(NEXT)
    expect(page.locator("#verify-code-1")).to_be_visible()
    looked_at(page, f"{lang}-4-phones")
    page.click(NEXT)

    expect(page.locator("#what_helps")).to_be_visible()
    page.fill("#what_helps", "Speak slowly. Let him keep his headphones on.")
    page.check("input[name=triggers][value=sirens]")
    looked_at(page, f"{lang}-5-crisis")
    page.click(NEXT)
    expect(page.locator("#medications")).to_be_visible()

    # The browser restarts: only cookies with an expiry come back.
    kept = [cookie for cookie in context.cookies() if cookie["expires"] > 0]
    context.close()
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.add_init_script(path=str(AXE))
    context.add_cookies(kept)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{live_server}{prefix}/crisis-plan/start")
    expect(page.locator("button[name=action][value=continue]")).to_be_visible()
    looked_at(page, f"{lang}-6-start-after-restart")
    page.click("button[name=action][value=continue]")
    expect(page.locator("#medications")).to_be_visible()  # back where she stopped
    page.goto(f"{live_server}{prefix}/crisis-plan/step/person")
    expect(page.locator("#name")).to_have_value(SON)
    page.goto(f"{live_server}{prefix}/crisis-plan/step/care")
    looked_at(page, f"{lang}-7-care")
    page.click(NEXT)
    page.fill("#emergency_contacts", "Mother, (314) 555-0111")
    looked_at(page, f"{lang}-8-people")
    page.click(NEXT)

    # Consent: "parent of a child under 18" is not offered for a man born in 1985.
    expect(page.locator("input[name=filed_by][value=family]")).to_be_attached()
    expect(page.locator("input[name=filed_by][value=parent]")).to_have_count(0)
    page.check("input[name=cit_requested][value=yes]")
    page.check("input[name=filed_by][value=family]")
    page.select_option("#language", lang)
    looked_at(page, f"{lang}-9-consent")
    page.click(NEXT)

    # Check your answers: everything she gave, with a way back to each section.
    main = page.locator("main")
    expect(main).to_contain_text(SON)
    expect(main).to_contain_text("Let him keep his headphones on.")
    expect(main).to_contain_text(f"{son[2:5]}) {son[5:8]}-{son[8:]}")
    expect(page.locator("img.portal-plan-photo")).to_be_visible()
    expect(page.locator("a[href*='/crisis-plan/step/crisis?then=review']")).to_be_visible()
    looked_at(page, f"{lang}-10-review")
    page.click("button[type=submit] >> nth=-1")  # "File the plan" without the acknowledgement
    expect(page.locator(".portal-error-summary")).to_be_visible()
    page.check("#understood")
    page.click("button[type=submit] >> nth=-1")

    expect(page.locator("h1")).to_have_text(re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}"))
    expect(page.locator("img.portal-plan-photo")).to_be_visible()  # the family sees the photo
    looked_at(page, f"{lang}-11-plan")
    context.close()

    with live_app.app_context():
        plans = [
            plan for plan in db.session.scalars(select(CrisisPlan)) if plan.details["person"]["name"] == SON
        ]
        plan = next(p for p in plans if {phone.number for phone in p.phones} >= {filer})
        assert plan.filed_by == "family" and plan.person_confirmed_at is None and plan.cit_requested
        assert {(phone.number, phone.role) for phone in plan.phones} == {(filer, "filer"), (son, "pending")}
        assert plan.photo is not None
        stored = Image.open(io.BytesIO(plan.photo.jpeg))
        assert not stored.getexif() and b"PhoneMaker" not in plan.photo.jpeg
        assert plan.details["crisis"]["what_helps"] == "Speak slowly. Let him keep his headphones on."
    # The son is texted, in the plan's language, so that he can see it and decide.
    assert Registrant(live_app, live_app.test_client()).last_code(son)
