"""Information pages for residents, in every language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from portal.i18n import (
    ENGLISH,
    LANGUAGE_COOKIE,
    current_language,
    language_for_accept_header,
    localized_route,
)
from portal.links import sms_link
from portal.phones import for_display
from portal.public import numbers as live_numbers
from portal.public.cache import KEEP, PageCache, page_cache

bp = Blueprint("public", __name__)


@dataclass(frozen=True)
class Page:
    endpoint: str
    rule: str
    title: LazyString
    nav_label: LazyString
    # What search engines show under the title: what the page is for, in its language.
    description: LazyString
    # In the header's menu as well as the footer's list of all pages.
    in_menu: bool = True


# In menu order. Each page's text is in templates/public/<endpoint>.html.
PAGES = (
    Page(
        "home",
        "/",
        # Translators: the home page's title. "Call for the pin" is the English campaign
        # slogan; write the plain action in your language ("ask 911 for a CIT officer"),
        # never a word for "pin", which readers take for a PIN code or a badge.
        _l("Call for the pin"),
        _l("Home"),
        _l(
            "In a mental health crisis, call 911 and ask for a CIT officer: a police officer "
            "trained to calm things down and help the person get care."
        ),
    ),
    Page(
        "cit_officers",
        "/cit-officers",
        _l("What a CIT officer is"),
        _l("CIT officers"),
        _l(
            "Who CIT officers are, the extra crisis training they take, and how they help a person in a mental health crisis."
        ),
    ),
    Page(
        "how_to_call",
        "/how-to-call",
        _l("How to call for the pin"),
        _l("How to call"),
        _l(
            "How to ask 911 for a CIT officer: the sentence to say, what to have ready and what to do while you wait."
        ),
    ),
    Page(
        "what_happens_next",
        "/what-happens-next",
        _l("What happens next"),
        _l("What happens next"),
        _l("What usually happens after you ask 911 for a CIT officer, from the call to follow-up care."),
    ),
    Page(
        "crisis_plans",
        "/crisis-plans",
        _l("Crisis plans"),
        _l("Crisis plans"),
        _l(
            "Register a free crisis plan, so that the CIT officer 911 sends knows what helps the person and what to avoid."
        ),
    ),
    Page(
        "text_line",
        "/text-line",
        _l("The CIT text line"),
        _l("Text line"),
        _l(
            "If you cannot talk on the phone, text to ask for a CIT officer. Your text goes to 911 dispatch within seconds."
        ),
    ),
    Page(
        "help",
        "/help",
        _l("Help and resources"),
        _l("Help and resources"),
        _l(
            "Crisis lines, 988 and groups that help people with mental illness and their families, before or after a crisis."
        ),
    ),
    Page(
        "questions",
        "/questions",
        _l("Questions and answers"),
        _l("Questions"),
        _l(
            "Answers to common questions about asking 911 for a CIT officer, crisis plans, interpreters and what happens to the person."
        ),
    ),
    Page(
        "numbers",
        "/numbers",
        _l("The program in numbers"),
        _l("In numbers"),
        _l(
            "How many people asked for a CIT officer this year, how fast dispatch answered and how many were handed to care."
        ),
        # The footer's list: the header's menu is full (it wraps in Arabic at 1280 px).
        in_menu=False,
    ),
    Page(
        "privacy",
        "/privacy",
        _l("Privacy"),
        _l("Privacy"),
        _l("What crisis plans and the CIT text line keep about you, who can see it and how long it is kept."),
    ),
    Page(
        "accessibility",
        "/accessibility",
        _l("Accessibility"),
        _l("Accessibility"),
        _l(
            "How this website works for everyone: with a keyboard, a screen reader, zoom, a slow connection and in six languages."
        ),
    ),
)


@bp.record_once
def _make_page_cache(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    app.extensions["public_page_cache"] = cache = PageCache(app)
    # Outermost, so that a kept public response goes out before Flask does any work.
    app.wsgi_app = cache.wrap(app.wsgi_app)  # type: ignore[method-assign,assignment]


# How long a browser, or a CDN or reverse proxy, may show a page without asking again:
# a new translation or agency detail reaches every reader within five minutes.
MAX_AGE = 300


def page_response(page: Page) -> Response:
    language = current_language()
    if "_flashes" in session:
        # A message flashed for this visitor (a form's, left unread) shows on the next
        # page they open, this one: rendered for them alone, never kept or stored.
        response = current_app.make_response(render_template(f"public/{page.endpoint}.html", page=page))
        response.headers["Cache-Control"] = "no-store"
        return response
    # Everything else the HTML depends on is fixed per process, except the path the app
    # is mounted at, which url_for puts in every link.
    rendered = page_cache().page(
        (page.endpoint, language.code, request.script_root),
        lambda: render_template(f"public/{page.endpoint}.html", page=page),
    )
    # portal.i18n's _remember_language sets the language cookie on a 200 when the
    # visitor's does not already name this page's language. Such a visitor gets the whole
    # page (never a 304, which would set no cookie), marked private: a shared cache
    # replaying it would replay the Set-Cookie, or, storing the cookie-less copy, serve
    # it to a first visitor whose choice then goes unremembered. So every page varies by
    # Cookie, and only a reader with the right language cookie and no session gets a copy
    # a CDN may keep and give to the next reader sending the same cookies.
    remembered = request.cookies.get(LANGUAGE_COOKIE) == language.code
    shareable = remembered and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    headers = [
        ("ETag", rendered.quoted_etag),
        ("Vary", "Cookie"),
        ("Cache-Control", f"{'public' if shareable else 'private'}, max-age={MAX_AGE}"),
    ]
    if remembered and request.if_none_match.contains_weak(rendered.etag):
        return current_app.response_class(status=304, headers=headers)
    if request.cookies.keys() <= {LANGUAGE_COOKIE}:
        # Nothing of this visitor's own in play: the whole response may be sent again to
        # the next request with the same cookies, before Flask (portal/public/cache.py).
        request.environ[KEEP] = rendered
    headers.append(("Content-Type", "text/html; charset=utf-8"))
    return current_app.response_class(rendered.body, headers=headers)


def _page_view(page: Page) -> Callable[[], ResponseReturnValue]:
    def view() -> ResponseReturnValue:
        return page_response(page)

    view.__name__ = page.endpoint
    return view


for _page in PAGES:
    if _page.endpoint not in ("home", "numbers"):
        localized_route(bp, _page.rule)(_page_view(_page))


@bp.record_once
def _make_numbers_cache(state: BlueprintSetupState) -> None:
    live_numbers.init_app(cast(Flask, state.app))


@localized_route(bp, "/numbers")
def numbers() -> ResponseReturnValue:
    # Live figures: counted once a minute, never kept by the page cache (numbers.py).
    return live_numbers.render_numbers(next(page for page in PAGES if page.endpoint == "numbers"))


@localized_route(bp, "/")
def home() -> ResponseReturnValue:
    # A first visit to the English home page from a phone set to another of our
    # languages goes to that language; a saved choice (the cookie) always wins.
    preferred = language_for_accept_header()
    first_visit = LANGUAGE_COOKIE not in request.cookies
    response: BaseResponse
    if current_language() is ENGLISH and first_visit and preferred not in (None, ENGLISH):
        response = redirect(url_for("public.home", lang_code=preferred.code))
    else:
        response = page_response(PAGES[0])
    # With these, a shared cache keeps one copy per Accept-Language and Cookie header:
    # the redirect never reaches a visitor who chose English.
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.app_context_processor
def _pages() -> dict[str, object]:
    settings = current_app.config["PORTAL_SETTINGS"]
    line = settings.twilio_from_number
    keyword = current_language().text_keyword
    return {
        "pages": PAGES,
        "agency": current_app.extensions["agency"],
        "public_url": settings.public_url,
        # No number, no text line: pages then never offer it (a dead end for someone who
        # cannot talk). With one, tapping it opens a text with the keyword typed.
        "text_line_number": for_display(line) if line else None,
        "text_line_sms": sms_link(line, f"{keyword} ") if line else None,
        "text_keyword": keyword,
    }
