"""The wallet and fridge cards in real Chromium: what they say, in English and in Arabic
(laid out right to left), their printed sizes, that nothing spills off a card, and that
the QR code is the one for texting the CIT line the plan's code.

Every expected string is written here, from what the card must say: none is read from
the code under test.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import qrcode
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import BrowserContext, Locator, Page, expect
from werkzeug.serving import make_server

from portal import create_app
from tests.browser.conftest import PHONE, SCREENSHOTS, axe_violations
from tests.conftest import make_environ
from tests.registry_helpers import CONSENT, Registrant

TEXT_LINE = "+13145550142"
TEXT_LINE_SHOWN = "(314) 555-0142"
CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}\b")
# Letter paper at 96 CSS px to the inch, as Chromium prints.
LETTER = {"width": 816, "height": 1056}
PX_PER_MM = 96 / 25.4
PX_PER_PT = 96 / 72
WALLET_MM = (85.6, 54.0)  # a bank card, ISO/IEC 7810 ID-1
FRIDGE_MM = (148.0, 105.0)  # an A6 postcard
TOLERANCE_PX = 2


def say_in_english(code: str) -> str:
    return (
        "In a crisis, call 911 and ask for a CIT officer. "
        f"Tell the call-taker a crisis plan is on file: plan {code}."
    )


@pytest.fixture(scope="module")
def line_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app whose text line has a number (the shared live_app has none)."""
    app = create_app(environ=make_environ(tmp_path_factory.mktemp("cards"), TWILIO_FROM_NUMBER=TEXT_LINE))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="module")
def line_server(line_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, line_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def open_card(
    app: Flask, server: str, context: BrowserContext, page: Page, *, language: str, phone: str
) -> str:
    """File a plan in `language` (through the pages, as a browser would), hand its
    session to the browser, open the card; returns the plan's code."""
    prefix = "" if language == "en" else f"/{language}"
    client = app.test_client()
    overview = Registrant(app, client, prefix).file_plan(
        phone=phone, consent={**CONSENT, "language": language}
    )
    found = CODE.search(overview)
    assert found, "no plan code on the overview"
    cookie = client.get_cookie("session")
    assert cookie is not None
    context.add_cookies([{"name": "session", "value": cookie.value, "url": server}])
    page.set_viewport_size(PHONE)
    page.goto(f"{server}{prefix}/crisis-plan/card")
    SCREENSHOTS.mkdir(exist_ok=True)
    return found.group(0)


def no_axe_violations(page: Page, where: str) -> None:
    assert axe_violations(page) == [], where


def card(page: Page, size: str) -> Locator:
    return page.locator(f".portal-card-print--{size}")


def reads_left_to_right(element: Locator) -> bool:
    """True when the element's first character is drawn left of its last one."""
    return bool(
        element.evaluate(
            """e => {
                const text = e.firstChild.nodeType === Node.TEXT_NODE ? e.firstChild : e.firstChild.firstChild;
                const at = i => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
                                  return r.getBoundingClientRect().left; };
                return at(0) < at(text.length - 1);
            }"""
        )
    )


def qr_modules(image: Locator) -> list[str]:
    """The QR code as the browser draws it: its dark and light modules, one string of 1s
    and 0s a row, read from a large rendering of the image at each module's centre."""
    size = 820
    pixels: list[str] = image.evaluate(
        """async (img, size) => {
            const copy = new Image(); copy.src = img.currentSrc || img.src; await copy.decode();
            const canvas = document.createElement("canvas"); canvas.width = canvas.height = size;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size); ctx.drawImage(copy, 0, 0, size, size);
            const data = ctx.getImageData(0, 0, size, size).data;
            const rows = [];
            for (let y = 0; y < size; y++) {
                let row = "";
                for (let x = 0; x < size; x++) row += data[(y * size + x) * 4] < 128 ? "1" : "0";
                rows.push(row);
            }
            return rows;
        }""",
        size,
    )
    dark_rows = [y for y, row in enumerate(pixels) if "1" in row]
    dark_columns = [x for x in range(size) if any(row[x] == "1" for row in pixels)]
    top, bottom = dark_rows[0], dark_rows[-1] + 1
    left, right = dark_columns[0], dark_columns[-1] + 1
    # The finder patterns mark three corners: the dark area is the symbol, without its
    # quiet zone. The top-left one's top edge is 7 modules long.
    side = bottom - top
    assert abs((right - left) - side) <= 2, "the QR code is not square"
    finder = len(pixels[top + 2][left:].split("0", 1)[0])
    module = finder / 7
    count = round(side / module)
    assert module >= 4 and (count - 21) % 4 == 0, (finder, side, count)
    module = side / count
    return [
        "".join(pixels[int(top + (r + 0.5) * module)][int(left + (c + 0.5) * module)] for c in range(count))
        for r in range(count)
    ]


def qr_modules_of(uri: str, error_correction: int) -> list[str]:
    """The modules of a QR code of `uri`, made here by the qrcode library."""
    code = qrcode.QRCode(border=0, error_correction=error_correction)
    code.add_data(uri)
    code.make(fit=True)
    return ["".join("1" if dark else "0" for dark in row) for row in code.get_matrix()]


def assert_qr_is(image: Locator, uri: str) -> None:
    drawn = qr_modules(image)
    # Whatever error correction the card chose, the symbol is the one for this URI.
    levels = (qrcode.ERROR_CORRECT_L, qrcode.ERROR_CORRECT_M, qrcode.ERROR_CORRECT_Q, qrcode.ERROR_CORRECT_H)
    assert any(drawn == qr_modules_of(uri, level) for level in levels), f"the QR code is not {uri}"


def check_print(page: Page, name: str, *, qr_at: str | None) -> None:
    """The printed cards: real sizes, a readable code, nothing outside a card, one page;
    the QR code `qr_at` the right of the facts (left to right) or at their left."""
    page.set_viewport_size(LETTER)
    page.emulate_media(media="print")
    for size, (width_mm, height_mm) in (("wallet", WALLET_MM), ("fridge", FRIDGE_MM)):
        box = card(page, size).bounding_box()
        assert box is not None
        assert abs(box["width"] - width_mm * PX_PER_MM) <= TOLERANCE_PX, (size, box)
        assert abs(box["height"] - height_mm * PX_PER_MM) <= TOLERANCE_PX, (size, box)
        code_px = (
            card(page, size)
            .locator(".portal-card-print__code")
            .evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        )
        assert code_px >= 10 * PX_PER_PT, (size, code_px)
        # And no text on a card too small to read on paper.
        smallest = card(page, size).evaluate(
            """c => Math.min(...[c, ...c.querySelectorAll("*")]
                .filter(e => e.offsetParent !== null && [...e.childNodes].some(n => n.nodeType === 3 && n.data.trim()))
                .map(e => parseFloat(getComputedStyle(e).fontSize)))"""
        )
        assert smallest >= 6 * PX_PER_PT, (size, smallest / PX_PER_PT)
        # Nothing spills: not out of the card's box, nor past its padding on any side.
        spill = card(page, size).evaluate(
            """c => {
                const edge = c.getBoundingClientRect(), style = getComputedStyle(c);
                const inner = {left: edge.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft),
                               right: edge.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight),
                               top: edge.top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop),
                               bottom: edge.bottom - parseFloat(style.borderBottomWidth) - parseFloat(style.paddingBottom)};
                const out = [];
                if (c.scrollHeight > c.clientHeight) out.push(`scrollHeight ${c.scrollHeight} > ${c.clientHeight}`);
                if (c.scrollWidth > c.clientWidth) out.push(`scrollWidth ${c.scrollWidth} > ${c.clientWidth}`);
                for (const e of c.querySelectorAll("*")) {
                    const r = e.getBoundingClientRect();
                    if (!r.width || !r.height) continue;
                    if (r.left < inner.left - 0.5 || r.right > inner.right + 0.5 ||
                        r.top < inner.top - 0.5 || r.bottom > inner.bottom + 0.5) {
                        out.push(`${e.tagName}.${e.className} ${JSON.stringify(r)}`);
                    }
                }
                return out;
            }"""
        )
        assert spill == [], (size, spill)
        if qr_at:
            qr = card(page, size).locator("img[data-sms-uri]").bounding_box()
            facts = card(page, size).locator(".portal-card-print__facts").bounding_box()
            assert qr and facts
            if qr_at == "right":
                assert qr["x"] >= facts["x"] + facts["width"], (size, qr, facts)
            else:
                assert qr["x"] + qr["width"] <= facts["x"], (size, qr, facts)
    # On paper only the cards: no navigation, no page header or footer.
    expect(page.locator(".portal-header")).to_be_hidden()
    expect(page.locator(".portal-footer")).to_be_hidden()
    expect(page.locator("button[data-print]")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / f"card-{name}-print.png"), full_page=True)

    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    (SCREENSHOTS / f"card-{name}.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "the two cards should print on one page"
    page.emulate_media(media="screen")


def check_print_button(page: Page) -> None:
    """The Print button is shown by its script and prints the page."""
    button = page.locator("button[data-print]")
    expect(button).to_be_visible()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    button.click()
    assert page.evaluate("() => window.printed") == 1


def test_english_cards(line_app: Flask, line_server: str, context: BrowserContext, page: Page) -> None:
    code = open_card(line_app, line_server, context, page, language="en", phone="(314) 555-0161")
    no_axe_violations(page, "English card at 375 px")
    sms = f"sms:{TEXT_LINE}?body=PIN%20{code}"
    for size in ("wallet", "fridge"):
        each = card(page, size)
        leads = each.locator(".portal-card-print__lead")
        expect(leads).to_have_count(1)  # English only: the plan is in English
        expect(leads).to_have_text(say_in_english(code))
        expect(each.locator(".portal-card-print__code")).to_have_text(code)
        line = each.locator(f'a[href="{sms}"]')
        expect(line).to_have_text(TEXT_LINE_SHOWN)
        expect(each.locator('a[href="tel:988"]')).to_have_text("Call or text 988")
        qr = each.locator("img[data-sms-uri]")
        expect(qr).to_have_attribute("data-sms-uri", sms)
        expect(qr).to_have_attribute("alt", re.compile(r"QR code.*text", re.IGNORECASE))
        assert_qr_is(qr, sms)
    check_print_button(page)
    page.screenshot(path=str(SCREENSHOTS / "card-en-screen.png"), full_page=True)
    check_print(page, "en", qr_at="right")


def test_arabic_cards_read_right_to_left(
    line_app: Flask, line_server: str, context: BrowserContext, page: Page
) -> None:
    code = open_card(line_app, line_server, context, page, language="ar", phone="(314) 555-0162")
    no_axe_violations(page, "Arabic card at 375 px")
    # Arabic texters text their own word for help: the line then answers in Arabic.
    sms = f"sms:{TEXT_LINE}?body={quote('مساعدة ' + code, safe='')}"
    for size in ("wallet", "fridge"):
        each = card(page, size)
        assert each.evaluate("e => getComputedStyle(e).direction") == "rtl"
        english = each.locator('.portal-card-print__lead[lang="en"]')
        expect(english).to_have_text(say_in_english(code))
        assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"
        arabic = each.locator('.portal-card-print__lead[lang="ar"]')
        expect(arabic).to_contain_text("911")
        expect(arabic).to_contain_text(re.compile("[\u0600-\u06ff]"))  # written in Arabic
        # The plan code and the numbers stay left to right inside the Arabic card.
        big_code = each.locator(".portal-card-print__code")
        expect(big_code).to_have_text(code)
        assert reads_left_to_right(big_code)
        line = each.locator(f'a[href="{sms}"]')
        expect(line).to_have_text(TEXT_LINE_SHOWN)
        assert reads_left_to_right(line)
        assert reads_left_to_right(english.locator("bdi"))
        if arabic.locator("bdi").count():  # once the sentence with the code is translated
            assert reads_left_to_right(arabic.locator("bdi"))
        expect(each.locator('a[href="tel:988"]')).to_contain_text("988")
        qr = each.locator("img[data-sms-uri]")
        expect(qr).to_have_attribute("data-sms-uri", sms)
        assert_qr_is(qr, sms)
    page.screenshot(path=str(SCREENSHOTS / "card-ar-screen.png"), full_page=True)
    check_print(page, "ar", qr_at="left")

    # The card is in the plan's language even on the English pages: still right to left.
    page.set_viewport_size(PHONE)
    page.goto(f"{line_server}/crisis-plan/card")
    no_axe_violations(page, "Arabic card on an English page")
    for size in ("wallet", "fridge"):
        assert card(page, size).evaluate("e => getComputedStyle(e).direction") == "rtl"
    check_print(page, "ar-on-english-page", qr_at="left")


def test_no_text_line_part_without_a_number(
    live_app: Flask, live_server: str, context: BrowserContext, page: Page
) -> None:
    """The shared test app has no text line number: no empty text-line part."""
    code = open_card(live_app, live_server, context, page, language="en", phone="(314) 555-0163")
    no_axe_violations(page, "card without a text line")
    for size in ("wallet", "fridge"):
        each = card(page, size)
        expect(each.locator(".portal-card-print__code")).to_have_text(code)
        expect(each.locator('a[href^="sms:"]')).to_have_count(0)
        expect(each.locator("img")).to_have_count(0)
        expect(each).not_to_contain_text("text line")
        expect(each.locator('a[href="tel:988"]')).to_have_text("Call or text 988")
    check_print(page, "en-no-text-line", qr_at=None)
