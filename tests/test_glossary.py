"""The key terms of translations/GLOSSARY.md are what residents read on the main pages,
and the wordings a reviewer flagged (a "deportation" relay service, a "badge officer",
"ask for the PIN") never come back.

The terms below are this test's own: they repeat the glossary's choices, and a test
checks that the glossary still says the same, so neither can drift alone.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal import PROJECT_ROOT

MAIN_PAGES = ("/", "/how-to-call", "/crisis-plans", "/questions")
PUBLIC_PAGES = (
    *MAIN_PAGES,
    "/cit-officers",
    "/what-happens-next",
    "/text-line",
    "/help",
    "/privacy",
    "/accessibility",
)

# language code in URLs -> (glossary column, {English term: as it must read on the pages})
TERMS = {
    "es": ("es", {"CIT officer": "oficial CIT", "crisis plan": "plan de crisis"}),
    "bs": ("bs", {"CIT officer": "CIT policaj", "crisis plan": "krizn"}),
    "vi": ("vi", {"CIT officer": "cảnh sát CIT", "crisis plan": "kế hoạch ứng phó khủng hoảng"}),
    "zh": ("zh_Hans", {"CIT officer": "CIT 警员", "crisis plan": "危机计划"}),
    "ar": ("ar", {"CIT officer": "ضابط CIT", "crisis plan": "خطة الأزمة"}),
}

# Wordings the language review found wrong, by language: never on any public page.
AVOID = {
    "es": ("Pida el pin", "pedir el pin"),
    "bs": ("Zatražite „pin“",),
    "vi": ("gọi xin huy hiệu", "xin một cảnh sát CIT", "công an"),
    "zh": ("徽章警员", "收容所", "精神疾病患者"),
    "ar": ("خدمة الترحيل", "اطلب الدبّوس", "المصابين", "منزعج"),
}


def text_of(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def glossary() -> dict[str, dict[str, str]]:
    """English term -> column -> cell, from the table in GLOSSARY.md."""
    lines = (PROJECT_ROOT / "translations" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| English |"))
    columns = [cell.strip() for cell in lines[header_at].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[header_at + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(columns, cells, strict=True))
    return rows


def row(rows: dict[str, dict[str, str]], term: str) -> dict[str, str]:
    (found,) = [cells for english, cells in rows.items() if english.split(" (")[0] == term]
    return found


def test_the_glossary_holds_the_terms_and_the_wordings_to_avoid() -> None:
    rows = glossary()
    for code, (column, terms) in TERMS.items():
        for english, term in terms.items():
            assert term in row(rows, english)[column], (code, english)
    # "xin (một) cảnh sát CIT" in the glossary covers "xin một cảnh sát CIT" on a page.
    avoided = " ".join(cells["Avoid"] for cells in rows.values()).replace("(", "").replace(")", "").lower()
    for code, wordings in AVOID.items():
        for wording in wordings:
            assert wording.lower() in avoided, (code, wording)


@pytest.fixture
def site(tmp_path: Path) -> FlaskClient:
    """The site with a text line number, so the text line page is shown whole."""
    from portal import create_app
    from tests.conftest import make_environ

    environ = make_environ(tmp_path, TWILIO_FROM_NUMBER="+13145550100")
    return create_app({"TESTING": True}, environ=environ).test_client()


@pytest.mark.parametrize("code", TERMS)
def test_the_main_pages_use_the_glossary_terms(site: FlaskClient, code: str) -> None:
    _column, terms = TERMS[code]
    for path in MAIN_PAGES:
        page = text_of(site.get(f"/{code}{path}").get_data(as_text=True))
        missing = [english for english, term in terms.items() if term not in page]
        # Every main page names the CIT officer; the plan pages name the plan.
        assert "CIT officer" not in missing, (code, path)
        if path == "/crisis-plans":
            assert missing == [], (code, path)


@pytest.mark.parametrize("code", AVOID)
def test_no_page_uses_a_wording_the_review_found_wrong(site: FlaskClient, code: str) -> None:
    for path in PUBLIC_PAGES:
        page = text_of(site.get(f"/{code}{path}").get_data(as_text=True))
        for wording in AVOID[code]:
            assert wording not in page, (code, path, wording)
