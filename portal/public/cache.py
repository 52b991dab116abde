"""Public pages rendered once and served from memory.

A public page's HTML depends on the page, its language, settings fixed for the life of
the process (the text line's number, the public URL) and two kinds of file: the gettext
catalogues and the agency file. Rendering it costs ~2.7 ms of templates, gettext and
url_for on every request; bytes kept in memory cost almost nothing. So each page is
rendered once per language and kept until one of those files changes: their mtimes are
looked at once a second at most (seven stat calls cost ~30 µs), and a change drops every
kept page, Flask-Babel's loaded catalogues and, when it is the agency file, the agency.

That alone leaves the app's own work on every request (the session, CSRF, URL matching,
the after_request hooks): even a view returning a constant string reaches only ~0.7 of a
bare Flask app's throughput. So, second, the whole response to a request that brings
nothing of the visitor's own (no cookie but the language one, no query string) is kept,
headers included, and sent again before Flask runs to the next request with the same
path and cookies (and Accept-Language, where the response varies by it). A response that
sets the language cookie is sent again for a minute only: its Expires date moves on.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING

from flask import current_app, g
from flask.sansio.app import App
from werkzeug.http import parse_etags, remove_entity_headers

from portal.agency import load_agency
from portal.extensions import babel
from portal.i18n import LANGUAGE_COOKIE, LANGUAGES

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# (mtime in ns, size, inode) of each watched file, None while a file is missing: a new
# copy put in place (same second, same size) still has a new inode.
Stamp = tuple[int, int, int] | None

# Set by the page view on a response that may be kept whole: the page it sends.
KEEP = "portal.public.keep"
# A kept response setting the language cookie is sent again this long: Flask then sends
# it anew, with a new Expires date (Max-Age, which browsers prefer, is always right).
COOKIE_REPLAY_SECONDS = 60.0
# Kept responses at most, a safety net: our pages in our languages need ~500. A client
# inventing cookie headers fills it, and it starts again empty.
MOST_KEPT = 2000


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str  # strong: a hash of the very bytes sent

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'


@dataclass(frozen=True)
class Kept:
    """A whole response Flask sent for a page, to send again as it was."""

    rendered: Rendered
    status: str
    headers: list[tuple[str, str]]
    # The same headers as werkzeug sends them with a 304; None when the response sets the
    # language cookie, which a 304 would not.
    not_modified: list[tuple[str, str]] | None
    accept_language: str | None  # the value it answered, when it varies by it
    until: float  # monotonic time after which Flask answers again


class PageCache:
    # Seconds between two looks at the files.
    check_every = 1.0

    def __init__(self, app: App) -> None:
        self._agency_file: Path = app.config["PORTAL_SETTINGS"].agency_file
        # The catalogue of each language in each folder Flask-Babel reads, whether it
        # exists yet or not (English has none: a new one counts as a change).
        self._files = [
            Path(folder, language.catalogue, "LC_MESSAGES", "messages.mo")
            for folder in app.extensions["babel"].translation_directories
            for language in LANGUAGES
        ] + [self._agency_file]
        # Taken when the app is built, which is when the agency file was read; Flask-Babel
        # reads a catalogue on its first use, after this.
        self._stamps = self._current_stamps()
        self._checked_at = monotonic()
        # Plain dicts, replaced whole on a change: two threads filling the same entry at
        # once store equal values.
        self._pages: dict[tuple[str, ...], Rendered] = {}
        self._kept: dict[tuple[str, ...], Kept] = {}

    # --- Rendered pages, inside Flask ------------------------------------------------

    def page(self, key: tuple[str, ...], render: Callable[[], str]) -> Rendered:
        """The page `key` names, rendered by `render` the first time and after a change."""
        now = monotonic()
        if now - self._checked_at >= self.check_every:
            self._checked_at = now
            stamps = self._current_stamps()
            if stamps != self._stamps:
                self._inputs_changed(stamps)
        kept = self._pages.get(key)
        if kept is None:
            body = render().encode("utf-8")
            if "csrf_token" in g:  # Flask-WTF's mark of a token put in the page
                # Each visitor's own: a page holding one (a form added to it) can be
                # neither kept nor shared. No public page has one today; this fails loudly
                # in the tests rather than handing one visitor's token to the next.
                raise RuntimeError(f"public page {key} holds a CSRF token: it cannot be kept")
            kept = Rendered(body, hashlib.sha256(body).hexdigest()[:32])
            self._pages[key] = kept
        return kept

    def _current_stamps(self) -> tuple[Stamp, ...]:
        stamps: list[Stamp] = []
        for path in self._files:
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                stamps.append(None)
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
        return tuple(stamps)

    def _inputs_changed(self, stamps: tuple[Stamp, ...]) -> None:
        if stamps[-1] != self._stamps[-1]:
            try:
                current_app.extensions["agency"] = load_agency(self._agency_file)
            except (OSError, ValueError, TypeError) as error:
                # Half-saved, or wrong: the pages keep the agency read before, and the
                # next save is read again.
                log.warning("agency file %s not reloaded: %s", self._agency_file, error)
        # Flask-Babel keeps every catalogue it has read for the life of the process,
        # keyed by locale only: without this, a new .mo file would never be read.
        babel.domain_instance.cache.clear()
        self._stamps = stamps
        self._pages = {}
        self._kept = {}

    # --- Whole responses, before Flask ------------------------------------------------

    def wrap(self, wsgi_app: WSGIApplication) -> WSGIApplication:
        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
                return wsgi_app(environ, start_response)
            key = (
                environ.get("SCRIPT_NAME", ""),
                environ.get("PATH_INFO", ""),
                environ.get("HTTP_COOKIE", ""),
            )
            now = monotonic()
            # Once a second, Flask answers and the page view looks at the files.
            kept = self._kept.get(key) if now - self._checked_at < self.check_every else None
            if (
                kept is not None
                and now < kept.until
                and kept.accept_language in (None, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
            ):
                return self._replay(kept, environ, start_response)
            return self._keep(wsgi_app, key, environ, start_response)

        return app

    def _replay(self, kept: Kept, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = environ.get("HTTP_IF_NONE_MATCH")
        if kept.not_modified is not None and match and parse_etags(match).contains_weak(kept.rendered.etag):
            start_response("304 NOT MODIFIED", list(kept.not_modified))
            return []
        start_response(kept.status, list(kept.headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [kept.rendered.body]

    def _keep(
        self,
        wsgi_app: WSGIApplication,
        key: tuple[str, ...],
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        sent: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            sent.append((status, headers))
            return start_response(status, headers, exc_info)

        body = wsgi_app(environ, capture)
        rendered = environ.get(KEEP)
        if rendered is None or environ["REQUEST_METHOD"] != "GET":
            return body
        whole = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        status, headers = sent[0]
        names = {name.lower() for name, _ in headers}
        varies_by = {
            field.strip().lower()
            for name, value in headers
            if name.lower() == "vary"
            for field in value.split(",")
            if field.strip()
        }
        cookies = [value for name, value in headers if name.lower() == "set-cookie"]
        # Kept only when it is the page's very bytes, varies by nothing the key leaves
        # out, and sets no cookie but the language one.
        if (
            status.startswith("200 ")
            and whole == rendered.body
            and varies_by <= {"cookie", "accept-language"}
            and all(cookie.startswith(f"{LANGUAGE_COOKIE}=") for cookie in cookies)
            # A per-request CSP nonce (there is none: no inline script or style) would be
            # stale when sent again.
            and not any(
                name.lower() == "content-security-policy" and "nonce-" in value for name, value in headers
            )
        ):
            not_modified = None
            if "set-cookie" not in names:
                not_modified = list(headers)
                remove_entity_headers(not_modified)
            if len(self._kept) >= MOST_KEPT:
                self._kept = {}
            self._kept[key] = Kept(
                rendered,
                status,
                list(headers),
                not_modified,
                environ.get("HTTP_ACCEPT_LANGUAGE", "") if "accept-language" in varies_by else None,
                monotonic() + COOKIE_REPLAY_SECONDS if cookies else float("inf"),
            )
        return [whole]


def page_cache() -> PageCache:
    return current_app.extensions["public_page_cache"]  # type: ignore[no-any-return]
