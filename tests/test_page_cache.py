"""Public pages are rendered once and served from memory: the same bytes with a strong
ETag, a 304 for a copy the reader holds, a response a CDN could keep replayed whole before
Flask runs, new text once a catalogue or the agency file changes, the language cookie and
Vary as before, and no flash ever kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g
from flask.testing import FlaskClient

from portal import PROJECT_ROOT, create_app, public
from portal.extensions import babel
from portal.i18n import LANGUAGE_COOKIE
from portal.public.cache import page_cache
from tests.conftest import make_environ
from tests.test_security_headers import assert_security_headers


def make_app(tmp_path: Path, config: dict[str, object] | None = None, **environ: str) -> Flask:
    return create_app({"TESTING": True, **(config or {})}, environ=make_environ(tmp_path, **environ))


class Clock:
    """The page cache's clock: the files are looked at again once it moves a second on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("portal.public.cache.monotonic", clock)
    return clock


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Flask:
    return make_app(tmp_path)


@pytest.fixture
def through_flask(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pages Flask's view served; a replayed response never reaches it."""
    served: list[str] = []
    real = public.page_response

    def counted(page: public.Page):  # type: ignore[no-untyped-def]
        served.append(page.endpoint)
        return real(page)

    monkeypatch.setattr(public, "page_response", counted)
    return served


def language_cookie(response) -> str | None:  # type: ignore[no-untyped-def]
    """The value of the language cookie this response sets, if it sets one."""
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == LANGUAGE_COOKIE:
            return rest.split(";", 1)[0]
    return None


# --- The same bytes, an ETag, a 304 -----------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/how-to-call", "/es/how-to-call", "/ar/", "/zh/text-line"])
def test_a_second_request_gets_the_same_bytes_and_etag(app: Flask, url: str) -> None:
    first = app.test_client().get(url)
    second = app.test_client().get(url)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    etag = first.headers["ETag"]
    assert etag == second.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/"), "a strong ETag"
    assert first.content_type == "text/html; charset=utf-8"
    assert_security_headers(second, url)


def test_pages_in_other_languages_have_other_etags(app: Flask) -> None:
    client = app.test_client()
    etags = {client.get(url).headers["ETag"] for url in ("/how-to-call", "/es/how-to-call", "/help")}
    assert len(etags) == 3


@pytest.mark.parametrize("url", ["/", "/how-to-call", "/vi/help"])
def test_a_reader_holding_the_page_gets_304_with_no_body(app: Flask, url: str) -> None:
    client = app.test_client()
    first = client.get(url)  # sets the language cookie: the reader now holds both
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert "Cookie" in again.headers["Vary"]
    assert again.headers["Cache-Control"] == "public, max-age=300"
    assert_security_headers(again, url)
    # A weak validator for the same bytes matches too (If-None-Match compares weakly)...
    assert client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    # ...another page's does not.
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_reader_without_the_language_cookie_gets_the_whole_page_and_the_cookie(app: Flask) -> None:
    etag = app.test_client().get("/es/how-to-call").headers["ETag"]
    # Same bytes in the browser's cache, cookies cleared: a 304 would set no cookie.
    response = app.test_client().get("/es/how-to-call", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert language_cookie(response) == "es"
    # Nor to a reader of another language switching to this one.
    switching = app.test_client()
    switching.set_cookie(LANGUAGE_COOKIE, "en")
    response = switching.get("/es/how-to-call", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert language_cookie(response) == "es"


# --- Replayed before Flask --------------------------------------------------------------


def test_a_shareable_response_is_replayed_as_flask_sent_it(app: Flask, through_flask: list[str]) -> None:
    client = app.test_client()
    client.get("/es/help")  # the language cookie
    from_flask = client.get("/es/help")  # marked public: kept whole
    assert through_flask == ["help", "help"]

    replayed = client.get("/es/help")
    assert through_flask == ["help", "help"], "answered before Flask"
    assert replayed.data == from_flask.data
    # Each response has its own request id (portal/logs.py, outside the cache).
    assert replayed.headers["X-Request-ID"] != from_flask.headers["X-Request-ID"]
    own_id = {"X-Request-ID"}
    assert sorted(item for item in replayed.headers.items() if item[0] not in own_id) == sorted(
        item for item in from_flask.headers.items() if item[0] not in own_id
    )
    assert_security_headers(replayed, "/es/help")

    # Another reader whose cookies are the same gets it too, as from a CDN.
    other = app.test_client()
    other.set_cookie(LANGUAGE_COOKIE, "es")
    assert other.get("/es/help").data == from_flask.data
    assert through_flask == ["help", "help"]

    not_modified = client.get("/es/help", headers={"If-None-Match": from_flask.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == from_flask.headers["ETag"]
    assert "Content-Type" not in not_modified.headers
    assert_security_headers(not_modified, "/es/help")

    head = client.head("/es/help")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == from_flask.headers["Content-Length"]
    assert through_flask == ["help", "help"]


def test_a_first_visit_is_replayed_with_the_language_cookie_for_a_minute(
    app: Flask, clock: Clock, through_flask: list[str]
) -> None:
    app.extensions["public_page_cache"].check_every = 3600  # the files play no part here
    first = app.test_client().get("/zh/how-to-call")
    replayed = app.test_client().get("/zh/how-to-call", headers={"If-None-Match": first.headers["ETag"]})
    assert through_flask == ["how_to_call"]
    assert replayed.status_code == 200, "never a 304 that would set no cookie"
    assert replayed.data == first.data
    assert language_cookie(replayed) == "zh"
    assert replayed.headers["Cache-Control"] == "private, max-age=300"

    clock.advance(59)
    app.test_client().get("/zh/how-to-call")
    assert through_flask == ["how_to_call"]
    clock.advance(2)  # its Expires date is a minute old: Flask sets the cookie anew
    assert language_cookie(app.test_client().get("/zh/how-to-call")) == "zh"
    assert through_flask == ["how_to_call", "how_to_call"]


def test_what_brings_something_of_its_own_reaches_flask(app: Flask, through_flask: list[str]) -> None:
    client = app.test_client()
    client.get("/vi/help")
    client.get("/vi/help")
    client.get("/vi/help", headers={"Accept-Language": "es"})  # /vi/help does not vary by it
    served = len(through_flask)
    client.get("/vi/help?utm_source=sms")  # a query string
    with client.session_transaction() as session:
        session["anything"] = "x"
    client.get("/vi/help")  # a session
    client.get("/vi/help")
    assert len(through_flask) == served + 3

    reader = app.test_client()
    reader.set_cookie(LANGUAGE_COOKIE, "en")
    reader.get("/", headers={"Accept-Language": "es"})
    reader.get("/", headers={"Accept-Language": "es"})
    served = len(through_flask)
    reader.get("/", headers={"Accept-Language": "vi"})  # the home page varies by it
    assert len(through_flask) == served + 1


def test_once_a_second_the_files_are_looked_at_by_flask(
    app: Flask, clock: Clock, through_flask: list[str]
) -> None:
    client = app.test_client()
    client.get("/questions")
    client.get("/questions")
    client.get("/questions")
    assert len(through_flask) == 2
    clock.advance(1.0)
    client.get("/questions")
    client.get("/questions")
    assert len(through_flask) == 3


# --- Who may keep a copy ---------------------------------------------------------------


def test_a_page_that_sets_the_language_cookie_is_private(app: Flask) -> None:
    response = app.test_client().get("/bs/questions")
    assert language_cookie(response) == "bs"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert "Cookie" in response.headers["Vary"]


def test_a_page_for_a_remembered_reader_may_be_shared_and_varies_by_cookie(app: Flask) -> None:
    client = app.test_client()
    client.get("/bs/questions")
    response = client.get("/bs/questions")
    assert language_cookie(response) is None
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Cookie" in response.headers["Vary"]


def test_a_reader_with_a_session_gets_a_private_page(app: Flask) -> None:
    client = app.test_client()
    client.get("/help")
    with client.session_transaction() as session:
        session["anything"] = "x"
    assert client.get("/help").headers["Cache-Control"] == "private, max-age=300"


# --- The language cookie and Vary, as before ---------------------------------------------


def test_the_first_visit_redirect_and_vary_are_unchanged(app: Flask) -> None:
    client = app.test_client()
    client.get("/", headers={"Accept-Language": "en"})  # warms the English home page
    first_visit = app.test_client().get("/", headers={"Accept-Language": "es-MX"})
    assert first_visit.status_code == 302
    assert first_visit.headers["Location"] == "/es/"
    assert {"Accept-Language", "Cookie"} <= set(first_visit.vary)

    # Reading English is a choice: the home page then stays English, from the cache.
    reader = app.test_client()
    assert language_cookie(reader.get("/how-to-call", headers={"Accept-Language": "es"})) == "en"
    home = reader.get("/", headers={"Accept-Language": "es"})
    assert home.status_code == 200
    assert '<html lang="en"' in home.get_data(as_text=True)
    assert {"Accept-Language", "Cookie"} <= set(home.vary)
    assert home.headers["Cache-Control"] == "public, max-age=300"
    assert home.data == client.get("/").data


def test_every_page_read_from_the_cache_still_sets_the_language_cookie(app: Flask) -> None:
    app.test_client().get("/vi/help")  # now in the cache
    reader = app.test_client()
    assert language_cookie(reader.get("/vi/help")) == "vi"
    missing = reader.get("/no-such-page", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    assert '<html lang="vi"' in missing.get_data(as_text=True)
    # Switching back to English is remembered as well.
    assert language_cookie(reader.get("/help")) == "en"
    assert language_cookie(reader.get("/help")) is None


# --- Flashes -----------------------------------------------------------------------------


def flash_for(client: FlaskClient, message: str) -> None:
    with client.session_transaction() as session:
        session["_flashes"] = [("success", message)]


@pytest.mark.parametrize("url", ["/", "/es/how-to-call", "/privacy"])
def test_a_flash_is_shown_to_its_reader_only_and_never_kept(app: Flask, url: str) -> None:
    other = app.test_client()
    other.get(url)
    before = other.get(url).data  # in the cache, and held by this reader

    reader = app.test_client()
    reader.get("/help")  # the language cookie, so that only the flash differs
    flash_for(reader, "Your plan is saved, reader one.")
    shown = reader.get(url, headers={"If-None-Match": other.get(url).headers["ETag"]})
    assert shown.status_code == 200, "not swallowed by a 304"
    assert "Your plan is saved, reader one." in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    assert "ETag" not in shown.headers

    # Neither the other reader nor the same one afterwards sees it again.
    assert other.get(url).data == before
    assert "reader one" not in app.test_client().get(url).get_data(as_text=True)
    assert "reader one" not in reader.get(url).get_data(as_text=True)


def test_a_flash_on_a_page_not_yet_cached_is_not_kept_for_others(app: Flask) -> None:
    reader = app.test_client()
    flash_for(reader, "Only for reader two.")
    assert "Only for reader two." in reader.get("/ar/help").get_data(as_text=True)
    assert "Only for reader two." not in app.test_client().get("/ar/help").get_data(as_text=True)


# --- New text when a catalogue or the agency file changes -------------------------------


@pytest.fixture
def own_translations(tmp_path: Path) -> Iterator[Path]:
    """A copy of translations/ an app reads, with Flask-Babel's catalogue cache of its own:
    that cache is one per process, keyed by locale only (see test_page_languages.py)."""
    folder = tmp_path / "translations"
    shutil.copytree(PROJECT_ROOT / "translations", folder)
    with make_app(tmp_path).app_context():
        domain = babel.domain_instance
    saved = domain.cache
    domain.cache = {}
    try:
        yield folder
    finally:
        domain.cache = saved


def retranslate(mo: Path, msgid: str, msgstr: str) -> None:
    """The catalogue compiled anew from its .po file, with one message changed."""
    with mo.with_suffix(".po").open("rb") as file:
        catalog = read_po(file)
    message = catalog.get(msgid)
    assert message is not None, msgid
    message.string = msgstr
    new = mo.with_suffix(".new")
    with new.open("wb") as file:
        write_mo(file, catalog)
    os.replace(new, mo)  # as a deploy puts a compiled catalogue in place


def test_a_changed_catalogue_shows_its_new_text(tmp_path: Path, own_translations: Path, clock: Clock) -> None:
    app = make_app(tmp_path, {"BABEL_TRANSLATION_DIRECTORIES": str(own_translations)})
    client = app.test_client()
    before = client.get("/es/how-to-call")
    assert "Qué tener a mano" in before.get_data(as_text=True)
    assert client.get("/es/how-to-call").data == before.data  # served from memory
    assert client.get("/es/how-to-call").data == before.data  # replayed before Flask

    retranslate(
        own_translations / "es" / "LC_MESSAGES" / "messages.mo", "What to have ready", "Lo que hay que tener"
    )
    clock.advance(1.0)
    after = client.get("/es/how-to-call", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    body = after.get_data(as_text=True)
    assert "Lo que hay que tener" in body and "Qué tener a mano" not in body
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "What to have ready" in client.get("/how-to-call").get_data(as_text=True)


def test_a_changed_agency_file_shows_its_new_text(tmp_path: Path, clock: Clock) -> None:
    agency_file = tmp_path / "agency.toml"
    original = (PROJECT_ROOT / "portal" / "agency.toml").read_text(encoding="utf-8")
    agency_file.write_text(original, encoding="utf-8")
    app = make_app(tmp_path, PORTAL_AGENCY_FILE=str(agency_file))
    client = app.test_client()
    client.get("/es/help")
    before = client.get("/es/help")  # kept, then replayed
    assert "NAMI St. Louis" in before.get_data(as_text=True)
    assert client.get("/es/help").data == before.data

    agency_file.write_text(original.replace("NAMI St. Louis", "NAMI Missouri"), encoding="utf-8")
    clock.advance(1.0)
    after = client.get("/es/help")
    assert "NAMI Missouri" in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]

    # Half-saved: the pages keep the agency read before, and the next good save is read.
    agency_file.write_text("campaign_name = ", encoding="utf-8")
    clock.advance(1.0)
    assert "NAMI Missouri" in client.get("/es/help").get_data(as_text=True)
    agency_file.write_text(original, encoding="utf-8")
    clock.advance(1.0)
    assert "NAMI St. Louis" in client.get("/es/help").get_data(as_text=True)


# --- What may never be kept ---------------------------------------------------------------


def test_a_page_holding_a_csrf_token_is_refused(app: Flask) -> None:
    with app.test_request_context("/help"):
        g.csrf_token = "one visitor's token"
        with pytest.raises(RuntimeError, match="CSRF token"):
            page_cache().page(("help", "en", ""), lambda: "<form>one visitor's token</form>")


def test_a_response_with_a_csp_nonce_is_not_sent_again(
    app: Flask, monkeypatch: pytest.MonkeyPatch, through_flask: list[str]
) -> None:
    monkeypatch.setattr("portal.security.CONTENT_SECURITY_POLICY", "script-src 'self' 'nonce-r4nd0m'")
    client = app.test_client()
    for _ in range(3):
        client.get("/help")
    assert len(through_flask) == 3
