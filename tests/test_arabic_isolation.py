"""Left-to-right runs on the Arabic pages are bidi-isolated, so they read whole and in order.

In a right-to-left paragraph the Unicode bidi algorithm lets the Arabic around a run decide
where the run's neutral characters (spaces, parentheses, hyphens, dots) and its numbers go:
"(314) 555-0100" shows as "0100-555 (314)", "Behavioral Health Response (BHR)" loses its
closing parenthesis to the far end, "988 Suicide & Crisis Lifeline" puts the number after
the name. An isolate keeps each run whole and left to right whatever surrounds it: an
element whose direction is ltr or auto (dir="ltr", a <bdi>, the `ltr` filter), or the
characters LRI/FSI ... PDI (U+2066/U+2068 ... U+2069, as portal.phones.for_sentence does).
RLI (U+2067) and dir="rtl" isolate too, but lay the run out right to left: they do not count.

Runs checked: phone numbers, phrases of two or more English words (with any numbers and
punctuation between them), reference codes and other hyphenated Latin (K7QM-3XPA, R-ABC234,
Text-to-911), and URLs, in the page's text and its <title> (where only LRI ... PDI can
isolate). Every English phrase counts, even one such as "St. Louis" that keeps its order
today: names come from agency.toml and may start with a number or end in a parenthesis in
another deployment, so the pages isolate them all, as the help page does with `ltr`.
One Latin word alone (CIT, TTY, STOP) and numbers alone (911, 2,200) keep their order in
Arabic and need nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.public import PAGES
from tests.conftest import make_environ

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"

_WORD = r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*"  # call-taker, K7QM-3XPA, Text-to-911
_TOKEN = rf"(?:{_WORD}|\d+(?:[,.]\d+)*)"  # a word, or a number inside the phrase ("Ask 911 for…")
_BETWEEN_WORDS = r"[ \u00a0]*[&.,:;/()\-]*[ \u00a0]+(?:[&(][ \u00a0]*)?"
_NOT_A_LETTER_BEFORE = r"(?<![^\W\d_])"  # so that no part of a Vietnamese word matches
_NOT_A_LETTER_AFTER = r"(?![^\W\d_])"
_URL_CHARACTER = r"[^\s«»“”\"<>\u2066-\u2069]"
RUNS = {
    "phone number": re.compile(
        r"(?:\+1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|(?<![\w-])\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
    ),
    "URL": re.compile(
        rf"(?:https?://|www\.){_URL_CHARACTER}*(?<![.,;:!?)])"
        r"|(?<![\w.@/-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:org|gov|com|net|edu|us)(?![\w-])"
    ),
    # Two or more English words, with the numbers and punctuation between them.
    "English phrase": re.compile(
        rf"{_NOT_A_LETTER_BEFORE}{_TOKEN}(?:{_BETWEEN_WORDS}{_TOKEN})+\)?{_NOT_A_LETTER_AFTER}"
    ),
    "code or hyphenated Latin": re.compile(
        r"(?<![\w-])(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+(?![\w-])"
    ),
}


def is_phrase(kind: str, run: str) -> bool:
    return kind != "English phrase" or len(re.findall(_WORD, run)) >= 2


@dataclass
class _Element:
    tag: str
    direction: str | None  # "ltr", "rtl" or "auto" where the element sets one (dir, <bdi>)
    skipped: bool
    text: list[str] = field(default_factory=list)  # for dir="auto": the text it decides on


@dataclass(frozen=True)
class TextRun:
    text: str
    setter: _Element | None  # the nearest element that sets a direction


_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[TextRun] = []
        self._open: list[_Element] = []

    def _setter(self) -> _Element | None:
        return next((element for element in reversed(self._open) if element.direction), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip().lower() for name, value in attrs}
        direction = values.get("dir") or ("auto" if tag == "bdi" else None)
        if direction not in (None, "ltr", "rtl", "auto"):
            direction = None  # an invalid dir is ignored by browsers
        skipped = bool(self._open and self._open[-1].skipped) or tag in ("script", "style", "template")
        if tag not in _VOID:
            self._open.append(_Element(tag, direction, skipped))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1].skipped:
            return
        setter = self._setter()
        if setter is not None and setter.direction == "auto":
            setter.text.append(data)
        if data.strip():
            self.runs.append(TextRun(data, setter))


def first_strong_direction(text: str) -> str:
    """As dir="auto" and FSI decide: the first strong letter, left to right when none."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def element_direction(element: _Element | None) -> str:
    if element is None or element.direction is None:
        return "ltr"  # the document default; an Arabic page sets rtl on <html>
    if element.direction == "auto":
        return first_strong_direction("".join(element.text))
    return element.direction


def isolated_spans(text: str) -> list[tuple[int, int]]:
    """Where LRI or FSI (laying out left to right) ... PDI isolate the text."""
    spans = []
    opened: list[tuple[str, int]] = []
    for index, character in enumerate(text):
        if character in (LRI, RLI, FSI):
            opened.append((character, index))
        elif character == PDI and opened:
            opener, start = opened.pop()
            content = text[start + 1 : index]
            if opener == LRI or (opener == FSI and first_strong_direction(content) == "ltr"):
                spans.append((start, index))
    return spans


@dataclass(frozen=True)
class Offence:
    kind: str
    run: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} {self.run!r} not isolated, in: {self.context!r}"


def unisolated_runs(body: str) -> list[Offence]:
    reader = _Reader()
    reader.feed(body)
    reader.close()
    offences = []
    for run in reader.runs:
        if element_direction(run.setter) == "ltr" and run.setter is not None:
            continue  # inside dir="ltr", a <bdi> or dir="auto" that resolves left to right
        spans = isolated_spans(run.text)
        taken: list[tuple[int, int]] = []
        for kind, pattern in RUNS.items():
            for match in pattern.finditer(run.text):
                start, end = match.span()
                if not is_phrase(kind, match.group(0)):
                    continue
                if any(start < other_end and other_start < end for other_start, other_end in taken):
                    continue  # already reported as another kind
                taken.append((start, end))
                if any(open_at < start and end <= close_at for open_at, close_at in spans):
                    continue
                context = " ".join(run.text[max(0, start - 40) : end + 40].split())
                offences.append(Offence(kind, match.group(0), context))
    return offences


# --- The checker itself --------------------------------------------------------------


def page(html: str) -> str:
    return f'<!doctype html><html lang="ar" dir="rtl"><body>{html}</body></html>'


@pytest.mark.parametrize(
    ("kind", "run"),
    [
        ("phone number", "(314) 555-0100"),
        ("phone number", "314-555-0100"),
        ("English phrase", "Behavioral Health Response (BHR)"),
        ("English phrase", "Main St"),
        ("code or hyphenated Latin", "K7QM-3XPA"),
        ("code or hyphenated Latin", "R-ABC234"),
        ("code or hyphenated Latin", "Text-to-911"),
        ("URL", "https://bhrstl.org"),
        ("URL", "bhrstl.org"),
    ],
)
def test_the_checker_finds_each_kind_of_run_and_accepts_each_isolate(kind: str, run: str) -> None:
    sentence = "أدخل رقمًا بهذا الشكل: {} ثم تابع."
    found = unisolated_runs(page(f"<p>{sentence.format(run)}</p>"))
    assert [(offence.kind, offence.run) for offence in found] == [(kind, run)]
    for isolated in (
        f'<bdi dir="ltr">{run}</bdi>',
        f"<bdi>{run}</bdi>",
        f'<span dir="ltr">{run}</span>',
        f"{LRI}{run}{PDI}",
        f"{FSI}{run}{PDI}",
    ):
        assert unisolated_runs(page(f"<p>{sentence.format(isolated)}</p>")) == [], isolated
    for still_right_to_left in (f'<span dir="rtl">{run}</span>', f"{RLI}{run}{PDI}"):
        assert len(unisolated_runs(page(f"<p>{sentence.format(still_right_to_left)}</p>"))) == 1


def test_the_checker_leaves_single_words_numbers_and_vietnamese_alone() -> None:
    body = page(
        "<p>اطلب ضابط CIT واتصل بالرقم 911. أكثر من 2,200 ضابط. أرسل STOP.</p>"
        '<p><a lang="vi">Tiếng Việt</a> · <span lang="zh">简体中文</span></p>'
        '<p dir="auto">مثال: <span>Main St</span></p>'  # auto resolves right to left here
    )
    assert [offence.run for offence in unisolated_runs(body)] == ["Main St"]


# --- The Arabic pages ----------------------------------------------------------------


@pytest.fixture(scope="module")
def arabic_site(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    directory: Path = tmp_path_factory.mktemp("arabic")
    # A text line number, so that the text line page shows it (and its steps).
    environ = make_environ(directory, TWILIO_FROM_NUMBER="+13145550100")
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, environ=environ)


ARABIC_PAGES = [
    *(pytest.param("GET", f"/ar{page.rule}", None, id=page.endpoint) for page in PAGES),
    pytest.param("GET", "/ar/crisis-plan/start", None, id="crisis-plan-start"),
    pytest.param("GET", "/ar/crisis-plan/sign-in", None, id="crisis-plan-sign-in"),
    # A phone number that is not one: the error gives an example number.
    pytest.param("POST", "/ar/crisis-plan/sign-in", {"number": "12"}, id="crisis-plan-sign-in-error"),
]


@pytest.mark.parametrize(("method", "url", "form"), ARABIC_PAGES)
def test_left_to_right_runs_are_isolated_on_the_arabic_page(
    arabic_site: Flask, method: str, url: str, form: dict[str, str] | None
) -> None:
    response = arabic_site.test_client().open(url, method=method, data=form)
    assert response.status_code == 200, url
    body = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in body
    offences = unisolated_runs(body)
    assert not offences, f"{method} {url}:\n" + "\n".join(str(offence) for offence in offences)


def test_the_text_line_number_is_on_the_page(arabic_site: Flask) -> None:
    body = arabic_site.test_client().get("/ar/text-line").get_data(as_text=True)
    assert "(314) 555-0100" in body
