"""Filing a crisis plan in real Chromium, in English and in Spanish, with axe-core on
every step, with and without errors shown."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, axe_violations
from tests.registry_helpers import Registrant

NEXT = "button[name=action][value=next]"


def check(page: Page, where: str) -> None:
    assert axe_violations(page) == [], where


@pytest.mark.parametrize("prefix", ["", "/es"])
def test_file_a_complete_plan(page: Page, live_server: str, live_app: Flask, prefix: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}{prefix}/crisis-plan/start")
    check(page, "start")
    page.click("button[name=action][value=new]")

    # Step 1, first with every error shown, then filled in.
    expect(page.locator("#name")).to_be_visible()
    check(page, "person")
    page.fill("#preferred_name", "Jo")
    page.click(NEXT)
    expect(page.locator(".portal-error-summary")).to_be_visible()
    expect(page.locator("#preferred_name")).to_have_value("Jo")  # nothing typed is lost
    check(page, "person with errors")
    page.click(".portal-error-summary a[href='#name']")
    expect(page.locator("#name")).to_be_focused()
    page.fill("#name", "Jordan Rivers")
    page.fill("#birth_date", "1990-05-17")
    page.check("#communication-0")
    page.click(NEXT)

    expect(page.locator("#photo")).to_be_attached()
    check(page, "photo")
    page.click(NEXT)

    expect(page.locator("#home_address")).to_be_visible()
    check(page, "where")
    page.fill("#home_address", "4500 Main St")
    page.click(NEXT)

    # Phones: a code by text message, read from what the SMS backend was given.
    expect(page.locator("#add-number")).to_be_visible()
    check(page, "phones")
    page.click("button[name=action][value=add]")
    expect(page.locator(".portal-error-summary")).to_be_visible()
    check(page, "phones with errors")
    page.fill("#add-number", "(314) 555-0100" if not prefix else "314.555.0188")
    page.check("#add-role-1")
    page.click("button[name=action][value=add]")
    number = "+13145550100" if not prefix else "+13145550188"
    code = Registrant(live_app, live_app.test_client()).last_code(number)
    page.fill("#verify-code-0", code)
    page.click("button[name=action][value='verify:0']")
    expect(page.locator(".usa-tag--verified")).to_have_count(1)
    check(page, "phones verified")
    page.click(NEXT)

    expect(page.locator("#what_helps")).to_be_visible()
    check(page, "crisis")
    page.click(NEXT)
    expect(page.locator(".portal-error-summary")).to_be_visible()
    check(page, "crisis with errors")
    page.fill("#what_helps", "Quiet voice")
    page.check("#triggers-0")
    page.click(NEXT)

    expect(page.locator("#medications")).to_be_visible()
    check(page, "care")
    page.fill("#medications", "Lithium")
    page.click(NEXT)

    expect(page.locator("#emergency_contacts")).to_be_visible()
    check(page, "people")
    page.click(NEXT)
    expect(page.locator(".portal-error-summary")).to_be_visible()
    check(page, "people with errors")
    page.fill("#emergency_contacts", "Mother")
    page.click(NEXT)

    expect(page.locator("#cit_requested-0")).to_be_attached()
    check(page, "consent")
    page.click(NEXT)
    expect(page.locator(".portal-error-summary")).to_be_visible()
    check(page, "consent with errors")
    page.check("input[name=cit_requested][value=yes]")
    page.check("input[name=filed_by][value=self]")
    page.select_option("#language", "es" if prefix else "en")
    page.click(NEXT)

    # Check your answers, acknowledge, file.
    expect(page.locator("#understood")).to_be_attached()
    check(page, "review")
    page.check("#understood")
    page.click("button[type=submit] >> nth=-1")

    # The plan, its reference code and its card.
    expect(page.locator("h1")).to_have_text(re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}"))
    heading = page.locator("h1").inner_text()
    assert re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", heading), heading
    reference = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", heading).group(0)  # type: ignore[union-attr]
    expect(page.locator("main")).to_contain_text("Quiet voice")
    check(page, "overview")
    page.goto(f"{live_server}{prefix}/crisis-plan/card")
    expect(page.locator(".portal-card-print").first).to_contain_text(reference)
    check(page, "card")
    for path in (
        "/crisis-plan/access-log",
        "/crisis-plan/print",
        "/crisis-plan/withdraw",
        "/crisis-plan/sign-in",
    ):
        page.goto(f"{live_server}{prefix}{path}")
        check(page, path)
