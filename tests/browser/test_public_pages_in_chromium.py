"""The public pages in real Chromium: accessibility, keyboard, right to left, weight."""

from __future__ import annotations

import gzip

import pytest
from playwright.sync_api import Browser, Page

from portal.i18n import BY_CODE, LANGUAGES
from portal.public import PAGES
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.test_public_pages import page_url

WIDTHS = {"375": PHONE, "1280": DESKTOP}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
@pytest.mark.parametrize("page_info", PAGES, ids=lambda page: page.endpoint)
def test_no_accessibility_violations(page: Page, live_server: str, page_info, language, width: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(WIDTHS[width])
    page.goto(live_server + page_url(language.code, page_info.rule))
    assert page.locator("html").get_attribute("lang") == language.tag
    assert axe_violations(page) == []
    if width == "375" and language.code in ("en", "ar", "zh"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"375-{language.code}-{page_info.endpoint}.png", full_page=True)


def focus_order(page: Page) -> list[dict[str, object]]:
    """Tab through the page; for each stop, what has focus and whether a focus ring shows."""
    page.locator("body").focus()
    stops: list[dict[str, object]] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const style = getComputedStyle(el);
                const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                    || style.boxShadow !== 'none';
                return {id: el.outerHTML.slice(0, 120), ring: ring};
            }"""
        )
        if stop is None or (stops and stop["id"] == stops[0]["id"]):
            break
        stops.append(stop)
    return stops


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", [BY_CODE["en"], BY_CODE["ar"]], ids=lambda language: language.code)
@pytest.mark.parametrize("page_info", PAGES, ids=lambda page: page.endpoint)
def test_usable_by_keyboard_alone(page: Page, live_server: str, page_info, language, width: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(WIDTHS[width])
    page.goto(live_server + page_url(language.code, page_info.rule))

    # Every link, button and question a mouse can use is reached by Tab, with a visible focus ring.
    visible = page.locator("a[href]:visible, button:visible, summary:visible, input:visible").count()
    stops = focus_order(page)
    assert len(stops) == visible
    assert [stop["id"] for stop in stops if not stop["ring"]] == []

    # The skip link comes first and takes keyboard users past the header.
    assert 'class="usa-skipnav"' in str(stops[0]["id"])
    page.locator("body").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


def test_questions_open_and_close_by_keyboard(page: Page, live_server: str) -> None:
    page.goto(live_server + "/questions")
    question = page.locator(".portal-faq summary").first
    question.focus()
    page.keyboard.press("Enter")
    assert page.locator(".portal-faq details").first.get_attribute("open") is not None
    page.keyboard.press("Enter")
    assert page.locator(".portal-faq details").first.get_attribute("open") is None


def test_arabic_layout_is_mirrored(page: Page, live_server: str) -> None:
    page.set_viewport_size(PHONE)
    for code in ("en", "ar"):
        page.goto(live_server + page_url(code, "/what-happens-next"))
        title = page.locator(".portal-header__title").bounding_box()
        step = page.locator(".usa-process-list__item").first.bounding_box()
        heading = page.locator(".usa-process-list__heading").first.bounding_box()
        assert title and step and heading
        middle = PHONE["width"] / 2
        if code == "en":
            assert title["x"] < middle
            assert heading["x"] > step["x"] + 20  # text after the step number
        else:
            assert title["x"] + title["width"] > middle
            assert heading["x"] + heading["width"] < step["x"] + step["width"] - 20


def test_every_page_works_without_javascript(browser: Browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    for page_info in PAGES:
        response = page.goto(live_server + page_info.rule)
        assert response and response.ok
        assert page.locator("h1").is_visible()
    # The menu link on phones reaches every page without a script.
    page.goto(live_server + "/")
    page.locator(".portal-menu-link").click()
    assert page.locator("#site-pages").is_visible()
    page.locator("#site-pages a", has_text="Help and resources").click()
    page.wait_for_url("**/help")
    context.close()


def test_home_page_first_load_is_at_most_150_kb_gzipped(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(live_server + "/", wait_until="networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    sizes = {response.url: len(gzip.compress(response.body(), 9)) for response in responses}
    context.close()
    assert any(url.endswith(".css") for url in sizes), "the stylesheet was not loaded"
    assert all(url.startswith(live_server) for url in sizes), "nothing may come from a third party"
    total = sum(sizes.values())
    assert total <= 150 * 1024, sizes
