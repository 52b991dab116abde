"""Every information page in every language, at its own URL."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from portal.i18n import LANGUAGES
from portal.public import PAGES


def page_url(language_code: str, rule: str) -> str:
    return rule if language_code == "en" else f"/{language_code}{rule}"


def html_tag(body: str) -> str:
    match = re.search(r"<html[^>]*>", body)
    assert match, "no <html> tag"
    return match.group(0)


def language_links(body: str) -> dict[str, str]:
    """The language switcher's links: hreflang -> href."""
    nav = re.search(r'<nav class="portal-languages".*?</nav>', body, re.S)
    assert nav, "no language switcher"
    pattern = r'<a href="([^"]+)"\s+lang="[^"]+" hreflang="([^"]+)"'
    return {hreflang: href for href, hreflang in re.findall(pattern, nav.group(0))}


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.code)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.endpoint)
def test_every_page_in_every_language(client: FlaskClient, language, page) -> None:  # type: ignore[no-untyped-def]
    url = page_url(language.code, page.rule)
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.get_data(as_text=True)
    assert html_tag(body) == f'<html lang="{language.tag}" dir="{"rtl" if language.rtl else "ltr"}">'

    # The switcher keeps you on the same page, naming each language in itself.
    links = language_links(body)
    assert links == {other.tag: page_url(other.code, page.rule) for other in LANGUAGES}
    for other in LANGUAGES:
        assert f">{other.name}</a>" in body

    # Search engines and screen readers find the other versions of this page.
    for other in LANGUAGES:
        assert f'hreflang="{other.tag}" href="http://127.0.0.1:5000{page_url(other.code, page.rule)}"' in body


@pytest.mark.parametrize(
    "language", [lang for lang in LANGUAGES if lang.code != "en"], ids=lambda lang: lang.code
)
def test_pages_are_translated(client: FlaskClient, language) -> None:  # type: ignore[no-untyped-def]
    english = client.get("/how-to-call").get_data(as_text=True)
    translated = client.get(f"/{language.code}/how-to-call").get_data(as_text=True)
    assert "What to have ready" in english
    assert "What to have ready" not in translated


def test_english_has_no_prefix(client: FlaskClient) -> None:
    assert client.get("/en/how-to-call").status_code == 404


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.5", "/es/"),
        ("zh-TW,zh;q=0.9", "/zh/"),
        ("zh-Hant-HK", "/zh/"),
        ("ar-EG", "/ar/"),
        ("vi", "/vi/"),
        ("bs-BA", "/bs/"),
        ("hr-HR", "/bs/"),
    ],
)
def test_first_visit_to_the_home_page_follows_the_phone_language(
    client: FlaskClient, accept: str, expected: str
) -> None:
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 302
    assert response.headers["Location"] == expected
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.parametrize("accept", ["en-US,en;q=0.9", "fr-FR", "", "en,es;q=0.5"])
def test_english_and_unknown_languages_stay_on_the_english_home_page(
    client: FlaskClient, accept: str
) -> None:
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert 'lang="en"' in response.get_data(as_text=True)


def test_a_lower_ranked_language_we_serve_wins_over_one_we_do_not(client: FlaskClient) -> None:
    assert client.get("/", headers={"Accept-Language": "de,es;q=0.1"}).headers["Location"] == "/es/"


def test_a_chosen_language_is_remembered_and_wins_over_the_phone(client: FlaskClient) -> None:
    # Reading a page in English is a choice: the home page then stays English.
    client.get("/how-to-call", headers={"Accept-Language": "es"})
    response = client.get("/", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    assert 'lang="en"' in response.get_data(as_text=True)

    # Reading Vietnamese makes pages without a prefix (such as a 404) Vietnamese.
    client.get("/vi/help")
    missing = client.get("/no-such-page", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    assert html_tag(missing.get_data(as_text=True)).startswith('<html lang="vi"')


def test_a_missing_page_answers_in_the_language_of_its_prefix(client: FlaskClient) -> None:
    response = client.get("/ar/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert html_tag(body) == '<html lang="ar" dir="rtl">'
    assert "Page not found" not in body


@pytest.fixture
def line_client(tmp_path):  # type: ignore[no-untyped-def]
    """A site whose CIT text line has a number."""
    from portal import create_app
    from tests.conftest import make_environ

    environ = make_environ(tmp_path, TWILIO_FROM_NUMBER="+13145550100")
    return create_app({"TESTING": True}, environ=environ).test_client()


@pytest.mark.parametrize(
    ("prefix", "keyword"), [("", "PIN"), ("/es", "AYUDA"), ("/ar", "%D9%85%D8%B3%D8%A7%D8%B9%D8%AF%D8%A9")]
)
def test_the_text_line_number_opens_a_text_with_the_keyword_typed(
    line_client, prefix: str, keyword: str
) -> None:  # type: ignore[no-untyped-def]
    body = line_client.get(f"{prefix}/text-line").get_data(as_text=True)
    # Tapping the number on a phone opens a text (someone who cannot talk must never be
    # put into a voice call), with the language's own keyword and a space already typed.
    assert f'href="sms:+13145550100?body={keyword}%20"' in body
    assert "tel:3145550100" not in body and "tel:+13145550100" not in body
    assert "(314) 555-0100" in body
    # The number comes before the explanation: on a phone it is on the first screen.
    assert body.index("(314) 555-0100") < body.index("How it works" if not prefix else "usa-process-list")


def test_with_a_number_the_text_line_is_offered(line_client) -> None:  # type: ignore[no-untyped-def]
    home = line_client.get("/").get_data(as_text=True)
    assert "Use the CIT text line" in home
    assert "Read about the CIT text line" in line_client.get("/how-to-call").get_data(as_text=True)


def test_without_a_number_the_text_line_is_never_offered(client: FlaskClient) -> None:
    # The test app has no text line number: a texter sent there would find a dead end.
    home = client.get("/").get_data(as_text=True)
    assert "Use the CIT text line" not in home
    assert 'href="/text-line"' not in home  # nor in the menus
    how = client.get("/how-to-call").get_data(as_text=True)
    assert "Read about the CIT text line" not in how
    page = client.get("/text-line").get_data(as_text=True)
    assert "call 911 and stay on the line" in page
    assert "Text PIN and the address" not in page


@pytest.mark.parametrize("prefix", ["", "/es", "/ar"])
def test_911_and_988_are_one_tap_away(client: FlaskClient, prefix: str) -> None:
    home = client.get(f"{prefix}/").get_data(as_text=True)
    assert 'href="tel:911"' in home
    assert 'href="tel:988"' in home and 'href="sms:988"' in home
    help_page = client.get(f"{prefix}/help").get_data(as_text=True)
    assert 'href="tel:911"' in help_page
    assert 'href="tel:988"' in help_page and 'href="sms:988"' in help_page
    assert 'href="tel:911"' in client.get(f"{prefix}/how-to-call").get_data(as_text=True)


def test_an_unset_phone_number_is_never_shown(client: FlaskClient) -> None:
    body = client.get("/help").get_data(as_text=True)
    # BHR's number is a placeholder in agency.toml: the page offers its website instead.
    assert "Behavioral Health Response (BHR)" in body
    assert 'href="https://bhrstl.org"' in body
    assert 'href="tel:"' not in body
    assert 'href="tel:988"' in body
