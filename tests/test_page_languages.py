"""Every translated public page reads in its own language, and the tests can tell which.

The tests know the languages themselves, never through the catalogues: a hand-written
profile of very common words and letters per language, and a short phrase per main page
that a reader of the language expects and only its translation holds. So a page rendered
from the wrong catalogue (Bosnian pages from the Spanish one) fails, as does English left
untranslated on a translated page. One function, assert_in_language, holds every check;
the swap tests at the end feed it pages rendered from the wrong catalogue and expect it
to fail.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask

from portal import PROJECT_ROOT, create_app
from portal.agency import load_agency
from portal.extensions import babel
from portal.public import PAGES
from tests.conftest import make_environ

TRANSLATED = ("es", "bs", "vi", "zh", "ar")
NAMES = {"es": "Spanish", "bs": "Bosnian", "vi": "Vietnamese", "zh": "Chinese", "ar": "Arabic"}
MAIN_PAGES = ("home", "how_to_call", "text_line", "help")
RULES = {page.endpoint: page.rule for page in PAGES}


def page_url(language: str, endpoint: str) -> str:
    return RULES[endpoint] if language == "en" else f"/{language}{RULES[endpoint]}"


# --- What the tests know of each language ---------------------------------------------


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


@dataclass(frozen=True)
class Profile:
    """Very common words and letters of one Latin-script language that the other two
    (and English) do not use. Words shared with another of our languages are left out on
    purpose (Spanish "se" and "su" are Bosnian words too, Spanish "con", "y", "hay" and "lo"
    Vietnamese ones), so that each count is evidence for one language only."""

    words: frozenset[str]
    letters: frozenset[str] = frozenset()  # a word holding one of them counts
    marks: frozenset[str] = frozenset()  # punctuation only this language writes


SPANISH = Profile(
    words=wordset(
        "usted el los las de del que para sus una un es en por al le está qué cómo más "
        "puede llame pida también pero cuando sobre hasta"
    ),
    letters=frozenset("ñ"),
    marks=frozenset("¿¡"),
)
BOSNIAN = Profile(
    words=wordset(
        "je i za na u ako ne ili s sa kako šta što ko vaš vaša vaše vam vas nazovite "
        "možete može koji koja koje li od nije kada biti osoba osobi osobu policajac "
        "policajca gdje"
    ),
    letters=frozenset("čćšž"),  # not đ: Vietnamese writes it too
)
VIETNAMESE = Profile(
    words=wordset(
        "quý vị và của có không được người cho là một các những này khi để với hãy nếu "
        "gọi cảnh sát đó gì sẽ đến trong"
    ),
    # ă ơ ư, ĩ ũ and the Latin Extended Additional letters (ạ ả ấ … ệ … ỹ): Vietnamese only.
    letters=frozenset("ăơưĩũ" + "".join(chr(code) for code in range(0x1EA0, 0x1EFA))),
)
LATIN_PROFILES = {"es": SPANISH, "bs": BOSNIAN, "vi": VIETNAMESE}
SCRIPTS = {"zh": "han", "ar": "arabic"}

# English words no translated page may hold outside the allowed runs below: function
# words and the verbs of buttons. None is also a word of Spanish, Bosnian or Vietnamese
# ("to", "a", "on", "in", "do", "can" are, so they are not listed).
ENGLISH_WORDS = wordset(
    "the and you your of is are with for this that what we our they their them will "
    "if it not be by from at when who how about was would should only there does have "
    "has or call text open ask read send help"
)

# Runs that stay in English on every page, removed before any check:
# * the proper names of agency.toml (the campaign, the region, the partners), plus
#   "Crisis Intervention Team" (what CIT stands for) and "WCAG";
# * the campaign's own words in quotation marks (“call for the pin”, „calling for the
#   pin“, “the pin”), which the reviewer asked translators to quote in English.
# Text inside an element with lang="en" (the sentence to say to 911) is left out as well,
# and so are all-capital words: acronyms and keywords to text (CIT, TTY, HELP, STOP, AYUDA).
AGENCY = load_agency(PROJECT_ROOT / "portal" / "agency.toml")
PROPER_NAMES = sorted(
    {
        AGENCY.campaign_name,
        AGENCY.region,
        AGENCY.program_contact_name,
        *(partner.name for partner in AGENCY.partners),
        "Crisis Intervention Team",
        "WCAG",
    },
    key=len,
    reverse=True,
)
QUOTED_CAMPAIGN_WORDS = r"[“„«\"‘]\s*(?:call(?:ing)? for )?the pin\s*[”“»\"’]"
ALLOWED_ENGLISH = re.compile(
    "|".join([*(re.escape(name) for name in PROPER_NAMES), QUOTED_CAMPAIGN_WORDS]), re.IGNORECASE
)

# A short phrase per main page that a reader of the language expects there, and that only
# its translation holds. None comes from an entry the reviewer asked to change (no "pin",
# "huy hiệu", "徽章", "الدبّوس", no dispatch, relay or bounce-back text, no interpreter
# answer, partner description or privacy sharing sentence).
PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "home": ("¿Necesita hablar con alguien?",),
        "how_to_call": ("Qué tener a mano", "No cuelgue hasta que le digan que puede colgar"),
        "text_line": ("Siga escribiendo si algo cambia",),
        "help": ("No tiene que esperar a una crisis para recibir ayuda.",),
    },
    "bs": {
        "home": ("Trebate s nekim razgovarati?",),
        "how_to_call": ("Šta pripremiti", "Dok čekate"),
        "text_line": ("Pišite dalje ako se nešto promijeni",),
        "help": ("Ne morate čekati krizu da biste dobili pomoć.",),
    },
    "vi": {
        "home": ("hoạt động cả ngày lẫn đêm",),
        "how_to_call": ("Cần chuẩn bị gì", "Trong lúc chờ"),
        "text_line": ("Nhắn tiếp nếu tình hình thay đổi",),
        "help": ("Quý vị không cần đợi đến lúc khủng hoảng mới tìm trợ giúp.",),
    },
    "zh": {
        "home": ("免费、保密",),
        "how_to_call": ("提前准备好这些信息", "请随身带着手机"),
        "text_line": ("情况有变，请继续发短信",),
        "help": ("不必等到危机发生才寻求帮助。",),
    },
    "ar": {
        "home": ("تحتاج إلى من تتحدث معه؟",),
        "how_to_call": ("ما الذي تجهّزه", "أثناء الانتظار"),
        "text_line": ("تابع المراسلة إذا تغيّر الوضع",),
        "help": ("لا داعي لانتظار الأزمة حتى تطلب المساعدة.",),
    },
}

# How clearly a page's language must win. Latin script: its own marker words at least
# this many times those of the next language (real pages score about 70 to 400 against 0 or 1).
# Chinese and Arabic: their script at least this share of the words (real pages: 75 to
# 94 %; the rest is CIT, street names and English, which the English check judges), and
# the other's script next to none.
DOMINANCE = 4
OWN_SCRIPT_SHARE = 0.6
FOREIGN_SCRIPT_SHARE = 0.02


# --- Reading a page --------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    text: str
    english: bool  # inside an element with lang="en"


_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)
_ATTRIBUTES = ("alt", "aria-label", "title", "placeholder")


class _PageReader(HTMLParser):
    """The text a reader meets: the title, the description search engines show, visible
    text, alternative text and labels; not scripts, styles or the language switcher (which
    names every language in itself)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[Run] = []
        self._open: list[tuple[str, str, bool]] = []  # tag, lang, skipped

    def _lang(self) -> str:
        return self._open[-1][1] if self._open else ""

    def _skipped(self) -> bool:
        return bool(self._open) and self._open[-1][2]

    def _add(self, text: str, lang: str) -> None:
        text = " ".join(unicodedata.normalize("NFC", text).split())
        if text:
            self.runs.append(Run(text, lang.lower().split("-")[0] == "en"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        lang = values.get("lang", self._lang())
        skipped = (
            self._skipped()
            or tag in ("script", "style", "template")
            or "portal-languages" in values.get("class", "").split()
        )
        if not skipped:
            for name in _ATTRIBUTES:
                self._add(values.get(name, ""), lang)
            if tag == "meta" and values.get("name") == "description":
                self._add(values.get("content", ""), lang)
        if tag not in _VOID:
            self._open.append((tag, lang, skipped))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipped():
            self._add(data, self._lang())


def read_page(body: str) -> list[Run]:
    reader = _PageReader()
    reader.feed(body)
    reader.close()
    return reader.runs


def without_allowed_english(text: str) -> str:
    return ALLOWED_ENGLISH.sub(" ", text)


def checked_text(body: str) -> str:
    """The page's text in its own language: allowed English runs taken out."""
    return " ".join(without_allowed_english(run.text) for run in read_page(body) if not run.english)


def words(text: str) -> list[str]:
    """Words, acronyms and keywords to text (two or more capitals) left out."""
    return [word for word in re.findall(r"[^\W\d_]+", text) if not (len(word) > 1 and word.isupper())]


def marker_counts(text: str) -> dict[str, int]:
    counts = dict.fromkeys(LATIN_PROFILES, 0)
    for word in words(text):
        lowered = word.lower()
        for code, profile in LATIN_PROFILES.items():
            if lowered in profile.words or not profile.letters.isdisjoint(lowered):
                counts[code] += 1
    for code, profile in LATIN_PROFILES.items():
        counts[code] += sum(text.count(mark) for mark in profile.marks)
    return counts


def script(character: str) -> str:
    name = unicodedata.name(character, "")
    if name.startswith("CJK"):
        return "han"
    if name.startswith("ARABIC"):
        return "arabic"
    if name.startswith("LATIN"):
        return "latin"
    return "other"


def script_shares(text: str) -> dict[str, float]:
    """Each script's share of the words: a Han character counts as a word."""
    units: list[str] = []
    for word in words(text):
        if script(word[0]) == "han":
            units.extend("han" for character in word if script(character) == "han")
        else:
            units.append(script(word[0]))
    total = len(units) or 1
    return {name: units.count(name) / total for name in ("latin", "han", "arabic")}


# --- The checks ------------------------------------------------------------------------


def profile_problems(body: str, language: str) -> list[str]:
    """Does the page read as its language, and clearly not as another of ours?"""
    text = checked_text(body)
    shares = script_shares(text)
    counts = marker_counts(text)
    name = NAMES[language]
    problems = []
    if language in SCRIPTS:
        own = SCRIPTS[language]
        if shares[own] < OWN_SCRIPT_SHARE:
            problems.append(
                f"profile: {own} script is {shares[own]:.0%} of the words, not {OWN_SCRIPT_SHARE:.0%} "
                f"as {name} needs (shares {_rounded(shares)})"
            )
        for other in {"han", "arabic"} - {own}:
            if shares[other] > FOREIGN_SCRIPT_SHARE:
                problems.append(f"profile: {other} script in a {name} page ({_rounded(shares)})")
        return problems
    for other in ("han", "arabic"):
        if shares[other] > FOREIGN_SCRIPT_SHARE:
            problems.append(f"profile: {other} script in a {name} page ({_rounded(shares)})")
    own_count = counts[language]
    rival, rival_count = max(
        ((code, count) for code, count in counts.items() if code != language), key=lambda item: item[1]
    )
    if own_count < 10 or own_count < DOMINANCE * rival_count:
        problems.append(
            f"profile: does not clearly read as {name}: {name} markers {own_count}, "
            f"{NAMES[rival]} markers {rival_count} (all: {counts})"
        )
    return problems


def _rounded(shares: dict[str, float]) -> dict[str, str]:
    return {name: f"{share:.0%}" for name, share in shares.items()}


def english_problems(body: str, language: str) -> list[str]:
    """English words outside the allowed runs, each with the text it sits in."""
    problems = []
    for run in read_page(body):
        if run.english:
            continue
        found = [word for word in words(without_allowed_english(run.text)) if word.lower() in ENGLISH_WORDS]
        if found:
            problems.append(f"English {sorted(set(found))}: {run.text!r}")
    return problems


def phrase_problems(body: str, language: str, page: str) -> list[str]:
    text = " ".join(run.text for run in read_page(body))
    return [f"phrase missing: {phrase!r}" for phrase in PHRASES[language].get(page, ()) if phrase not in text]


def language_problems(body: str, language: str, page: str | None = None) -> list[str]:
    problems = profile_problems(body, language) + english_problems(body, language)
    if page is not None:
        problems += phrase_problems(body, language, page)
    return problems


def assert_in_language(body: str, language: str, page: str | None = None) -> None:
    """The page is in `language` (es, bs, vi, zh, ar): its words are that language's and
    no other of ours, it holds no English outside the allowed runs, and a main page holds
    the phrases its readers expect."""
    problems = language_problems(body, language, page)
    assert not problems, f"not a {NAMES[language]} page:\n  " + "\n  ".join(problems)


# --- Rendering -------------------------------------------------------------------------


def make_app(directory: Path, translations: Path | None = None) -> Flask:
    config: dict[str, object] = {"TESTING": True}
    if translations is not None:
        # Read by Flask-Babel's init_app, which create_app runs after applying this config.
        config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    # A text line number: the text line page shows its steps only when there is one.
    return create_app(config, environ=make_environ(directory, TWILIO_FROM_NUMBER="+13145550100"))


@contextmanager
def own_translation_cache(app: Flask) -> Iterator[None]:
    """Flask-Babel keeps loaded catalogues in one cache per process, keyed by locale only
    (portal.extensions.babel serves every app). An app reading another translations folder
    renders from a cache of its own, and the usual cache is back afterwards."""
    with app.app_context():
        domain = babel.domain_instance  # made on first use, from the app's configuration
    saved = domain.cache
    domain.cache = {}
    try:
        yield
    finally:
        domain.cache = saved


def render(app: Flask, language: str, page: str) -> str:
    response = app.test_client().get(page_url(language, page))
    assert response.status_code == 200, page_url(language, page)
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(tmp_path_factory.mktemp("site"))


# --- Every page in its language --------------------------------------------------------

pages = pytest.mark.parametrize("page", [page.endpoint for page in PAGES])
languages = pytest.mark.parametrize("language", TRANSLATED)


@languages
@pages
def test_the_page_reads_as_its_language(site: Flask, language: str, page: str) -> None:
    problems = profile_problems(render(site, language, page), language)
    assert not problems, "\n".join(problems)


@languages
@pages
def test_the_page_holds_no_english_outside_names_and_the_sentence_to_say(
    site: Flask, language: str, page: str
) -> None:
    problems = english_problems(render(site, language, page), language)
    assert not problems, f"{page_url(language, page)}:\n" + "\n".join(problems)


@languages
@pytest.mark.parametrize("page", MAIN_PAGES)
def test_a_main_page_holds_what_its_readers_expect(site: Flask, language: str, page: str) -> None:
    problems = phrase_problems(render(site, language, page), language, page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", MAIN_PAGES)
def test_each_phrase_is_in_one_language_only(site: Flask, page: str) -> None:
    """The phrases prove a language only if no other version of the page holds them."""
    bodies = {language: render(site, language, page) for language in ("en", *TRANSLATED)}
    for language in TRANSLATED:
        for phrase in PHRASES[language][page]:
            elsewhere = [other for other, body in bodies.items() if other != language and phrase in body]
            assert not elsewhere, f"{phrase!r} ({language}) is also on the {elsewhere} {page} page"


def test_the_profiles_tell_the_languages_apart() -> None:
    """No marker word belongs to two profiles, nor is an English word."""
    for code, profile in LATIN_PROFILES.items():
        for other, other_profile in LATIN_PROFILES.items():
            if other != code:
                assert not profile.words & other_profile.words, (code, other)
                spelled_like_other = {w for w in profile.words if not other_profile.letters.isdisjoint(w)}
                assert not spelled_like_other, (code, other)
        assert not profile.words & ENGLISH_WORDS, code


def test_the_english_site_fails_every_language(site: Flask) -> None:
    body = render(site, "en", "how_to_call")
    for language in TRANSLATED:
        with pytest.raises(AssertionError):
            assert_in_language(body, language, "how_to_call")


# --- A page rendered from the wrong catalogue is caught ------------------------------

CATALOGUES = {"es": "es", "bs": "bs", "vi": "vi", "zh": "zh_Hans", "ar": "ar"}


def swapped_translations(tmp_path: Path, swaps: dict[str, str]) -> Path:
    """A copy of translations/ where each language in `swaps` holds another's compiled
    catalogue: {"bs": "es"} gives the Bosnian pages the Spanish messages.mo."""
    folder = tmp_path / "translations"
    shutil.copytree(PROJECT_ROOT / "translations", folder)
    for language, source in swaps.items():
        shutil.copyfile(
            PROJECT_ROOT / "translations" / CATALOGUES[source] / "LC_MESSAGES" / "messages.mo",
            folder / CATALOGUES[language] / "LC_MESSAGES" / "messages.mo",
        )
    return folder


@pytest.mark.parametrize(
    "swaps",
    [{"bs": "es"}, {"vi": "es", "es": "vi"}, {"zh": "ar", "ar": "zh"}],
    ids=["bs-gets-es", "vi-es-swapped", "zh-ar-swapped"],
)
@pytest.mark.parametrize("page", MAIN_PAGES)
def test_a_page_from_another_languages_catalogue_fails(
    site: Flask, tmp_path: Path, swaps: dict[str, str], page: str
) -> None:
    folder = swapped_translations(tmp_path, swaps)
    swapped = make_app(tmp_path, folder)
    with own_translation_cache(swapped):
        bodies = {language: render(swapped, language, page) for language in swaps}
    for language, source in swaps.items():
        # The swap took: the page now carries the other language's words.
        assert PHRASES[source][page][0] in bodies[language], f"/{language} did not get the {source} catalogue"
        with pytest.raises(AssertionError) as failure:
            assert_in_language(bodies[language], language, page)
        # It fails for being in the wrong language, not only for English left in it:
        # the profile and the phrases both catch it, where the real catalogue passes both.
        message = str(failure.value)
        assert "profile:" in message, message
        assert "phrase missing" in message, message
        real = render(site, language, page)
        assert profile_problems(real, language) == []
        assert phrase_problems(real, language, page) == []
