"""Information pages for residents, in every language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.i18n import (
    ENGLISH,
    LANGUAGE_COOKIE,
    current_language,
    language_for_accept_header,
    localized_route,
)
from portal.phones import for_display

bp = Blueprint("public", __name__)


@dataclass(frozen=True)
class Page:
    endpoint: str
    rule: str
    title: LazyString
    nav_label: LazyString


# In menu order. Each page's text is in templates/public/<endpoint>.html.
PAGES = (
    Page("home", "/", _l("Call for the pin"), _l("Home")),
    Page("cit_officers", "/cit-officers", _l("What a CIT officer is"), _l("CIT officers")),
    Page("how_to_call", "/how-to-call", _l("How to call for the pin"), _l("How to call")),
    Page("what_happens_next", "/what-happens-next", _l("What happens next"), _l("What happens next")),
    Page("crisis_plans", "/crisis-plans", _l("Crisis plans"), _l("Crisis plans")),
    Page("text_line", "/text-line", _l("The CIT text line"), _l("Text line")),
    Page("help", "/help", _l("Help and resources"), _l("Help and resources")),
    Page("questions", "/questions", _l("Questions and answers"), _l("Questions")),
    Page("privacy", "/privacy", _l("Privacy"), _l("Privacy")),
    Page("accessibility", "/accessibility", _l("Accessibility"), _l("Accessibility")),
)


def _page_view(page: Page) -> Callable[[], ResponseReturnValue]:
    def view() -> ResponseReturnValue:
        return render_template(f"public/{page.endpoint}.html", page=page)

    view.__name__ = page.endpoint
    return view


for _page in PAGES:
    if _page.endpoint != "home":
        localized_route(bp, _page.rule)(_page_view(_page))


@localized_route(bp, "/")
def home() -> ResponseReturnValue:
    # A first visit to the English home page from a phone set to another of our
    # languages goes to that language; a saved choice (the cookie) always wins.
    preferred = language_for_accept_header()
    first_visit = LANGUAGE_COOKIE not in request.cookies
    if current_language() is ENGLISH and first_visit and preferred not in (None, ENGLISH):
        response = redirect(url_for("public.home", lang_code=preferred.code))
    else:
        response = make_response(render_template("public/home.html", page=PAGES[0]))
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.app_context_processor
def _pages() -> dict[str, object]:
    settings = current_app.config["PORTAL_SETTINGS"]
    return {
        "pages": PAGES,
        "agency": current_app.extensions["agency"],
        "public_url": settings.public_url,
        "text_line_number": for_display(settings.twilio_from_number) if settings.twilio_from_number else None,
        "text_keyword": current_language().text_keyword,
    }
