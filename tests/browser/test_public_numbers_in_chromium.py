"""The public "program in numbers" page in real Chromium on the demo year: axe-core finds
nothing at 375 px in English and Arabic, the Arabic page runs right to left with each
figure whole, and nothing scrolls sideways. Screenshots go to tests/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page

from tests.browser.conftest import PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_dashboard_in_chromium import serve_demo_year


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    yield from serve_demo_year(tmp_path_factory.mktemp("demo-year-public"))


@pytest.mark.parametrize("code", ["en", "ar"])
def test_the_numbers_page_on_a_phone(page: Page, demo: tuple[Flask, str], code: str) -> None:
    _app, server = demo
    page.set_viewport_size(PHONE)
    page.goto(server + ("/numbers" if code == "en" else f"/{code}/numbers"))
    assert page.locator("html").get_attribute("dir") == ("rtl" if code == "ar" else "ltr")
    requests = page.locator("#figure-requests")
    assert requests.locator("bdi[dir=ltr]").count() == 1, "the count reads left to right, whole"
    assert int(requests.inner_text().replace(",", "")) >= 10
    assert page.locator("#figure-languages li").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    if code == "ar":
        figure, term = (
            page.locator("#figure-requests").bounding_box(),
            page.locator("dt").first.bounding_box(),
        )
        assert figure and term and figure["x"] + figure["width"] > PHONE["width"] / 2, (
            "figures start on the right"
        )
    assert axe_violations(page) == []
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"375-{code}-numbers-demo.png"), full_page=True)
