"""Long answers in real Chromium, on a phone: a long paste is kept whole, counted, and
refused by the server with its message, nothing cut; English typed into the Arabic form
reads left to right, its full stop at the end."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PHONE, SCREENSHOTS, axe_violations

NEXT = "button[name=action][value=next]"
# A mother's paste of the doctor's notes: 60 times 64 characters, one paragraph.
NOTE = "Dr Okafor: he calms with music, a quiet voice and time to talk. "
NOTES = NOTE * 60
ENGLISH = "Stay calm with him."

# Where Chromium puts the caret for each x across the first line of a text box: the
# offsets (into its value) in the order they appear from left to right.
CARETS_LEFT_TO_RIGHT = """field => {
  const box = field.getBoundingClientRect();
  const style = getComputedStyle(field);
  const y = box.top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop)
    + parseFloat(style.lineHeight) / 2;
  const offsets = [];
  for (let x = Math.ceil(box.left) + 1; x < box.right - 1; x++) {
    const caret = document.caretPositionFromPoint(x, y);
    if (caret && caret.offsetNode === field && offsets[offsets.length - 1] !== caret.offset) {
      offsets.push(caret.offset);
    }
  }
  return offsets;
}"""

# Counts changes to the description's live region, to show it does not chatter.
WATCH_LIVE = """() => {
  window.liveChanges = 0;
  const live = document.querySelector("#description-count + [aria-live=polite]");
  new MutationObserver(() => { window.liveChanges += 1; })
    .observe(live, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(autouse=True)
def starts_not_counted(live_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests start a plan six times from one address: not counted against the
    start page's limit (ten an hour), which the other browser tests in this process need."""
    limiter = live_app.extensions["rate_limiter"]
    counted = limiter.allow
    monkeypatch.setattr(
        limiter,
        "allow",
        lambda key, limit, window_seconds: key.startswith("start:") or counted(key, limit, window_seconds),
    )


def start_plan(page: Page, live_server: str, prefix: str = "") -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}{prefix}/crisis-plan/start")
    page.click("button[name=action][value=new]")
    expect(page.locator("#description")).to_be_visible()


def paste(page: Page, context: BrowserContext, live_server: str, selector: str, text: str) -> None:
    """A real paste, from the clipboard, as Ctrl+V."""
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.focus(selector)
    page.keyboard.press("Control+V")


def screenshot(page: Page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator(".usa-form-group", has=page.locator("#description")).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"long-text-{name}.png"))


def test_a_long_paste_is_kept_whole_counted_and_refused_with_the_server_message(
    page: Page, context: BrowserContext, live_server: str
) -> None:
    assert len(NOTE) == 64
    assert len(NOTES) == 3840
    start_plan(page, live_server)
    description = page.locator("#description")
    count = page.locator("#description-count")
    live = page.locator("#description-count + [aria-live=polite]")
    assert description.get_attribute("maxlength") is None  # nothing cut on paste
    assert description.get_attribute("data-max-length") == "2000"
    expect(count).to_have_text("0 of 2,000 characters")
    expect(count).not_to_have_class("usa-hint portal-char-count portal-char-count--over")
    # A short one-line box shows no count far from its maximum (120 for a name).
    expect(page.locator("#name-count")).to_be_hidden()
    assert page.get_attribute("#name", "maxlength") is None

    page.fill("#name", "Jordan Rivers")
    page.fill("#birth_date", "1990-05-17")
    paste(page, context, live_server, "#description", NOTES)
    assert description.input_value() == NOTES  # all 3,840 characters, none cut
    expect(count).to_have_text("1,840 characters too many")
    expect(count).to_have_class("usa-hint portal-char-count portal-char-count--over")
    assert live.text_content() == ""  # screen readers hear it after a pause, not at once
    expect(live).to_have_text("1,840 characters too many")

    # Typing on: one announcement after the pause, not one per keystroke.
    page.evaluate(WATCH_LIVE)
    page.keyboard.press("End")
    page.keyboard.type("Calm.", delay=150)
    expect(count).to_have_text("1,845 characters too many")
    expect(live).to_have_text("1,845 characters too many")
    page.wait_for_timeout(1500)
    assert page.evaluate("window.liveChanges") == 1
    assert axe_violations(page) == []
    screenshot(page, "en-375-over")

    page.click(NEXT)
    # The same page, the server's message, and every character still in the box.
    assert page.url.endswith("/crisis-plan/step/person")
    summary = page.locator(".portal-error-summary li")
    expect(summary).to_have_count(1)
    expect(summary).to_have_text("Please keep this under 2000 characters.")
    expect(page.locator("#description-error")).to_have_text("Please keep this under 2000 characters.")
    assert description.input_value() == NOTES + "Calm."
    assert len(description.input_value()) == 3845
    expect(description).to_have_attribute(
        "aria-describedby", "description-hint description-error description-count"
    )
    expect(count).to_have_text("1,845 characters too many")
    assert live.text_content() == ""  # the error summary speaks on arrival, not the count
    assert axe_violations(page) == []
    screenshot(page, "en-375-refused")

    # Cut down to 1,950: the count is calm again, and the server takes it.
    description.fill(NOTES[:1950])
    expect(count).to_have_text("1,950 of 2,000 characters")
    expect(count).not_to_have_class("usa-hint portal-char-count portal-char-count--over")
    expect(live).to_have_text("1,950 of 2,000 characters")  # near the maximum: said once
    page.click(NEXT)
    expect(page).to_have_url(f"{live_server}/crisis-plan/step/photo")


def test_a_line_break_counts_as_the_server_counts_it(page: Page, live_server: str) -> None:
    """Browsers send a line break as two characters (CR LF), and the server counts both."""
    start_plan(page, live_server)
    page.fill("#name", "Jordan Rivers")
    page.fill("#birth_date", "1990-05-17")
    page.fill("#description", "x" * 1998 + "\n" + "y")  # 2,000 in the box, 2,001 sent
    expect(page.locator("#description-count")).to_have_text("1 character too many")
    page.click(NEXT)
    expect(page.locator("#description-error")).to_have_text("Please keep this under 2000 characters.")
    page.focus("#description")
    page.keyboard.press("Control+End")
    page.keyboard.press("Backspace")
    expect(page.locator("#description-count")).to_have_text("2,000 of 2,000 characters")
    page.click(NEXT)
    expect(page).to_have_url(f"{live_server}/crisis-plan/step/photo")


def test_a_one_line_box_shows_its_count_near_its_maximum(page: Page, live_server: str) -> None:
    start_plan(page, live_server)
    count = page.locator("#pronouns-count")  # at most 40 characters
    page.fill("#pronouns", "she/her")
    expect(count).to_be_hidden()
    expect(page.locator("#pronouns")).to_have_attribute("aria-describedby", "pronouns-hint")
    page.fill("#pronouns", "she/her, and her name, never a nickname, please")
    expect(count).to_be_visible()
    expect(count).to_have_text("7 characters too many")
    expect(page.locator("#pronouns")).to_have_attribute("aria-describedby", "pronouns-hint pronouns-count")
    page.fill("#pronouns", "she/her, and her name, never nicknames")
    expect(count).to_have_text("38 of 40 characters")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "long-text-en-375-full.png"), full_page=True)


def test_english_in_the_arabic_form_reads_left_to_right(page: Page, live_server: str) -> None:
    start_plan(page, live_server, "/ar")
    assert page.get_attribute("html", "dir") == "rtl"
    description = page.locator("#description")
    assert description.get_attribute("dir") == "auto"
    assert page.get_attribute("#name", "dir") == "auto"
    assert page.get_attribute("#birth_date", "dir") == "ltr"  # a date reads left to right

    description.press_sequentially(ENGLISH)
    assert description.evaluate("field => getComputedStyle(field).direction") == "ltr"
    # Read left to right, the carets go 0, 1, ... 19: "S" first, the full stop last,
    # at the right (right to left, the full stop would come first, at the left).
    assert description.evaluate(CARETS_LEFT_TO_RIGHT) == list(range(len(ENGLISH) + 1))
    # Numbers only: the words are English until the catalogue has them in Arabic.
    expect(page.locator("#description-count")).to_contain_text("19")
    expect(page.locator("#description-count")).to_contain_text("2,000")
    assert axe_violations(page) == []
    screenshot(page, "ar-375-english")
    page.fill("#name", "Jordan Rivers")
    page.fill("#birth_date", "1990-05-17")
    page.screenshot(path=str(SCREENSHOTS / "long-text-ar-375-full.png"), full_page=True)

    # Arabic typed in the same box reads right to left.
    description.fill("ابقَ هادئًا معه.")
    assert description.evaluate("field => getComputedStyle(field).direction") == "rtl"

    page.fill("#description", NOTES)
    expect(page.locator("#description-count")).to_contain_text("1,840")
    expect(page.locator("#description-count")).to_have_class(
        "usa-hint portal-char-count portal-char-count--over"
    )
    assert axe_violations(page) == []
    screenshot(page, "ar-375-over")


def test_the_numbers_are_written_as_the_page_language_writes_them(page: Page, live_server: str) -> None:
    start_plan(page, live_server, "/vi")
    page.fill("#description", NOTES)
    count = page.locator("#description-count")
    expect(count).to_contain_text("1.840")  # Vietnamese groups thousands with a dot
    expect(count).not_to_contain_text("1,840")


def test_without_javascript_the_server_says_it(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/crisis-plan/start")
        page.click("button[name=action][value=new]")
        count = page.locator("#description-count")
        expect(count).to_have_text("You can write up to 2000 characters.")
        expect(page.locator("#name-count")).to_be_hidden()
        page.fill("#name", "Jordan Rivers")
        page.fill("#birth_date", "1990-05-17")
        page.fill("#description", NOTES)
        page.click(NEXT)
        expect(page.locator("#description-error")).to_have_text("Please keep this under 2000 characters.")
        assert page.locator("#description").input_value() == NOTES
    finally:
        context.close()
