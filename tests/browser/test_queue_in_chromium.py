"""The queue in real Chromium as a dispatcher reads it: 25 open requests on one 1280 x 800
screen, overdue first and marked, a texter's new text marked within 3 seconds,
acknowledged from its row; the sound toggle that says what is true; the page that says
the account signed in on another computer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from portal.database import utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, axe_violations
from tests.browser.test_console_in_chromium import sign_in_page
from tests.console_helpers import make_user, sign_in
from tests.test_console_queue import Wanted, close_every_request, make_requests
from tests.text_line_helpers import send_text

ST_LOUIS = ZoneInfo("America/Chicago")
TEXTER = "+13145550166"
# Counts the sounds the page plays (Web Audio) on <html data-sounds>, where the test can
# wait for it (the page's Content-Security-Policy allows no waiting on a script).
COUNT_SOUNDS = """
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (...args) {
  const root = document.documentElement;
  root.dataset.sounds = String(Number(root.dataset.sounds || 0) + 1);
  return start.apply(this, args);
};
"""
# Headless Chromium lets every page play sound; a browser on a desk holds it until a click
# on the page. This makes Web Audio start held and start only on a click or a key.
AUTOPLAY_POLICY = """
const Real = window.AudioContext;
window.AudioContext = class extends Real {
  constructor(...args) { super(...args); this.suspend(); }
  resume() { return navigator.userActivation.isActive ? super.resume() : new Promise(() => {}); }
};
"""


def sounds(page: Page) -> int:
    return int(page.evaluate("document.documentElement.dataset.sounds || '0'"))


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


def busy_night() -> list[Wanted]:
    """24 requests of a busy night (the 25th comes by text): overdue past 3 minutes, most
    with supervisors alerted, some fresh (young enough to stay so while the test runs),
    some acknowledged; long and foreign locations."""
    return [
        Wanted(
            minutes(19), "he is outside my house at 22 Pine St and he is screaming", supervisors_alerted=True
        ),
        Wanted(
            minutes(17),
            "3800 Grand Ave and Olive",
            "es",
            supervisors_alerted=True,
            new_text="ya tiene un cuchillo",
        ),
        Wanted(
            minutes(15),
            "٤٥٠٠ شارع ليندل",
            "ar",
            supervisors_alerted=True,
            alerts=("failed", "failed"),
            escalated=True,
        ),
        Wanted(minutes(12), "1200 Market St", supervisors_alerted=True, plan="K7QM-3XPA"),
        Wanted(minutes(10), "救命 我儿子在 4500 Lindell Blvd 发病了", "zh", supervisors_alerted=True),
        Wanted(minutes(9), None, supervisors_alerted=True, opted_out=True),
        Wanted(
            minutes(8), "5100 Gravois Ave", "vi", supervisors_alerted=True, alerts=("delivered", "failed")
        ),
        Wanted(minutes(7), "700 Clark Ave", supervisors_alerted=True),
        Wanted(minutes(6), "Grand i Olive", "bs", supervisors_alerted=True),
        Wanted(minutes(5), "4500 Main St", supervisors_alerted=True, plan="QZQN-3TCB"),
        Wanted(minutes(4), "1 S Memorial Dr", supervisors_alerted=True, new_text="he is on the roof now"),
        Wanted(minutes(3.5), "8800 Natural Bridge Rd"),
        Wanted(minutes(2.3), "I need help my son is hearing voices and wont stop yelling 4100 Lindell"),
        Wanted(minutes(2), "6300 Delmar Blvd", "es"),
        Wanted(minutes(1.5), "2 Arch St", alerts=("accepted", "sent")),
        Wanted(minutes(1), "900 N Tucker Blvd"),
        Wanted(timedelta(seconds=40), "3100 Cherokee St", alerts=("queued", "queued")),
        Wanted(timedelta(seconds=15), "1500 Washington Ave", alerts=("queued", "queued")),
        Wanted(minutes(30), "7200 Manchester Rd", status="acknowledged"),
        Wanted(minutes(25), "10 Chouteau Ave", "es", status="acknowledged", new_text="ya llegaron?"),
        Wanted(minutes(14), "4000 Forest Park Ave", status="acknowledged", plan="WXYZ-2345"),
        Wanted(minutes(11), "800 Olive St", status="acknowledged"),
        Wanted(minutes(3), "2600 S Jefferson Ave", status="acknowledged"),
        Wanted(minutes(1), "300 Park Ave", status="acknowledged", alerts=None),
    ]


@pytest.fixture
def queue(live_app: Flask) -> Iterator[list[Wanted]]:
    close_every_request(live_app)
    wanted = busy_night()
    make_requests(live_app, wanted)
    yield wanted
    close_every_request(live_app)


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#queue tbody tr")


def row_of(page: Page, reference: str):  # type: ignore[no-untyped-def]
    return rows(page).filter(has=page.locator(f"#open-{reference}"))


def test_twenty_five_requests_on_one_screen(
    page: Page, live_server: str, live_app: Flask, queue: list[Wanted]
) -> None:
    secret = make_user(live_app, "night@example.org", "dispatcher")
    sign_in_page(page, live_server, "night@example.org", secret)
    reply = send_text(live_app.test_client(), "PIN 4500 Lindell Blvd", sender=TEXTER).get_data(as_text=True)
    texted = re.search(r"R-[2-9A-Z]{6}", reply).group(0)  # type: ignore[union-attr]
    # The console polls every 2 s; a loaded CI machine can take a few more to answer.
    expect(rows(page)).to_have_count(25, timeout=10_000)
    expect(page.locator("#queue-summary")).to_have_text(
        "25 requests not closed: 19 not acknowledged, 12 overdue"
    )
    expect(page).to_have_title(re.compile(r"^\(12 overdue, 19 waiting\) CIT request queue"))

    # Overdue (not acknowledged past 3 minutes) first, oldest first; then the rest not
    # acknowledged; then the acknowledged, oldest first.
    not_acknowledged = sorted((w for w in queue if w.status == "open"), key=lambda w: -w.age)
    acknowledged = sorted((w for w in queue if w.status != "open"), key=lambda w: -w.age)
    order = [w.reference for w in not_acknowledged] + [texted] + [w.reference for w in acknowledged]
    shown = rows(page).locator("th a").all_inner_texts()
    assert shown == order
    overdue = [w for w in not_acknowledged if w.age > minutes(3)]
    assert len(overdue) == 12
    for position, row in enumerate(rows(page).all()):
        text = row.inner_text()
        if position < 12:
            assert re.search(r"\d+ min — overdue", text), text
        else:
            assert "overdue" not in text, text
    first, fresh = rows(page).nth(0), rows(page).nth(12)
    assert "19 min — overdue" in first.inner_text()
    # In colour too: the overdue row and its wait stand out from a row not yet overdue.
    red = first.locator(".portal-queue__wait").evaluate("e => getComputedStyle(e).backgroundColor")
    assert red == "rgb(181, 9, 9)"
    assert fresh.evaluate("e => getComputedStyle(e.cells[0]).backgroundColor") != first.evaluate(
        "e => getComputedStyle(e.cells[0]).backgroundColor"
    )
    expect(first).to_contain_text("Escalated")
    expect(row_of(page, queue[2].reference)).to_contain_text("Failed: trying the fallback numbers")
    expect(row_of(page, queue[6].reference)).to_contain_text("Reached 1 of 2 phones")
    expect(row_of(page, queue[3].reference)).to_contain_text("Reached 2 of 2 phones")
    expect(row_of(page, queue[16].reference)).to_contain_text("Sending to 2 phones")
    expect(row_of(page, queue[5].reference)).to_contain_text("Opted out of texts: call back")
    expect(row_of(page, queue[1].reference)).to_contain_text("New message from texter")
    table = page.locator("#queue").inner_text()
    for raw in ("accepted", "delivered", "dispatch_alert", "queued"):
        assert raw not in table
    # Received in St. Louis time, with the date.
    created = utcnow() - queue[0].age
    local = created.astimezone(ST_LOUIS)
    received = first.locator("time").inner_text().replace("\u202f", " ")
    assert received.startswith(local.strftime("%-m/%-d/%y, ")), received
    assert received in {
        (local + timedelta(minutes=shift)).strftime("%-m/%-d/%y, %-I:%M %p") for shift in (-1, 0)
    }, received

    # The whole queue on one screen, without scrolling.
    page.screenshot(path=str(SCREENSHOTS / "console-queue-1280.png"))
    # Measured in one script run: the 2-second poll may swap the rows between two calls.
    bottom = page.evaluate(
        "() => [...document.querySelectorAll('#queue tbody tr')].at(-1).getBoundingClientRect().bottom"
    )
    assert bottom <= DESKTOP["height"], bottom
    heights = page.evaluate(
        "() => ({page: document.scrollingElement.scrollHeight,"
        " table: document.querySelector('#queue table').getBoundingClientRect().height,"
        " row: document.querySelector('#queue tbody tr').getBoundingClientRect().height})"
    )
    print("queue at 1280 x 800:", heights)
    assert heights["page"] <= DESKTOP["height"] + 16, heights
    assert axe_violations(page) == []

    # A dispatcher on the keyboard keeps their place while the rows are fetched again.
    button = f"#acknowledge-{queue[3].reference}"
    page.focus(button)
    page.evaluate(
        "document.addEventListener('htmx:afterSwap', () => { document.documentElement.dataset.swapped = 'yes'; })"
    )
    expect(page.locator("html")).to_have_attribute("data-swapped", "yes", timeout=3000)
    assert page.evaluate("document.activeElement.id") == button[1:]

    # The texter writes again: marked within 3 seconds, without reloading.
    texted_row = row_of(page, texted)
    expect(texted_row).not_to_contain_text("New message from texter")
    send_text(live_app.test_client(), "he has a knife now", sender=TEXTER)
    expect(texted_row).to_contain_text("New message from texter", timeout=3000)

    # Acknowledged from its row: it moves down among the acknowledged.
    target = queue[0].reference
    row_of(page, target).get_by_role("button", name=f"Acknowledge {target}").click()
    expect(row_of(page, target)).to_contain_text("Acknowledged", timeout=3000)
    expect(row_of(page, target)).not_to_contain_text("overdue")
    expect(page.locator("#queue-summary")).to_have_text(
        "25 requests not closed: 18 not acknowledged, 11 overdue"
    )
    now_acknowledged = sorted([*acknowledged, queue[0]], key=lambda w: -w.age)
    assert rows(page).locator("th a").all_inner_texts().index(target) == 18 + now_acknowledged.index(queue[0])
    assert page.url.endswith("/console/"), "acknowledging from the queue stays on the queue"
    with live_app.app_context():
        item = db.session.scalars(select(CitRequest).where(CitRequest.reference == target)).one()
        assert (item.status, item.acknowledged_by) == ("acknowledged", "Dispatcher night@example.org")

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.screenshot(path=str(SCREENSHOTS / "console-queue-1920.png"))
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    assert axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "console-queue-375.png"))
    page.screenshot(path=str(SCREENSHOTS / "console-queue-375-full.png"), full_page=True)


def test_the_sound_toggle_says_what_is_true_and_is_remembered(
    context: BrowserContext, live_server: str, live_app: Flask
) -> None:
    close_every_request(live_app)
    context.add_init_script(script=COUNT_SOUNDS + AUTOPLAY_POLICY)
    page = context.new_page()
    secret = make_user(live_app, "sound@example.org", "dispatcher")
    sign_in_page(page, live_server, "sound@example.org", secret)
    toggle, note = page.locator("#sound-toggle"), page.locator("#sound-note")
    expect(page.locator(".portal-sound button:visible")).to_have_count(1)  # one control, not two

    # On unless turned off here, but a browser holds sound until a click on the page:
    # until then the toggle says it is off, and why.
    expect(toggle).to_have_text("Sound off")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(note).to_have_text("The browser holds the sound until you click on this page.")
    page.locator("h1").click()
    expect(toggle).to_have_text("Sound on")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(note).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_text("Sound off")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("localStorage.getItem('portal.console.sound')") == "off"
    send_text(live_app.test_client(), "PIN 1200 Market St", sender="+13145550171")
    expect(page.locator("#queue tbody tr")).to_have_count(1, timeout=3000)
    assert sounds(page) == 0, "off is off"

    page.reload()
    expect(toggle).to_have_text("Sound off")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(note).to_be_hidden()
    page.locator("h1").click()  # a click on the page does not turn it back on
    expect(toggle).to_have_text("Sound off")
    assert page.evaluate("localStorage.getItem('portal.console.sound')") == "off"

    toggle.click()
    expect(toggle).to_have_text("Sound on")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("localStorage.getItem('portal.console.sound')") == "on"
    expect(page.locator("html")).to_have_attribute("data-sounds", "1")  # turning it on plays it once
    send_text(live_app.test_client(), "PIN 700 Clark Ave", sender="+13145550172")
    expect(page.locator("#queue tbody tr")).to_have_count(2, timeout=3000)
    expect(page.locator("html")).to_have_attribute("data-sounds", "2", timeout=3000)

    page.reload()  # remembered, and honest until the browser lets it play
    expect(toggle).to_have_text("Sound off")
    expect(note).to_be_visible()
    page.keyboard.press("Tab")
    expect(toggle).to_have_text("Sound on")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert axe_violations(page) == []
    close_every_request(live_app)


def test_a_sign_in_elsewhere_is_said_and_the_queue_keeps_sounding(
    context: BrowserContext, live_server: str, live_app: Flask
) -> None:
    close_every_request(live_app)
    context.add_init_script(script=COUNT_SOUNDS)
    page = context.new_page()
    secret = make_user(live_app, "twice@example.org", "dispatcher")
    sign_in_page(page, live_server, "twice@example.org", secret)
    expect(page.locator("#sound-toggle")).to_have_text("Sound on")
    send_text(live_app.test_client(), "PIN 4500 Lindell Blvd", sender="+13145550173")
    expect(page.locator("#queue tbody tr")).to_have_count(1, timeout=3000)

    before = utcnow()
    sign_in(live_app, live_app.test_client(), "twice@example.org", secret)  # the other computer
    after = utcnow()
    times = {moment.astimezone(ST_LOUIS).strftime("%-I:%M %p") for moment in (before, after)}
    said = page.locator("#queue")
    expect(said).to_contain_text("This account signed in on another computer at", timeout=3000)
    message = said.inner_text().replace("\u202f", " ")
    assert any(f", {time}." in message for time in times), message
    assert "4500 Lindell" not in message, "nothing of the requests shows once signed out"
    expect(said).to_contain_text("1 open request is waiting.")
    expect(page.locator("#queue-summary")).to_have_text("Signed out here")
    assert page.url.endswith("/console/"), "not turned into a bare sign-in page"
    assert axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "console-queue-signed-in-elsewhere.png"))

    # It keeps counting, and sounding, for requests that come in.
    played = sounds(page)
    send_text(live_app.test_client(), "PIN 3800 Grand Ave", sender="+13145550174")
    expect(said).to_contain_text("2 open requests are waiting.", timeout=3000)
    expect(page.locator("html")).to_have_attribute("data-sounds", str(played + 1), timeout=3000)
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    close_every_request(live_app)
