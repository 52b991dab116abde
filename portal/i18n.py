"""Languages, locale selection and language-prefixed URLs.

English pages have no prefix (/how-to-call); every other language has its own
(/es/how-to-call). The locale comes from the URL prefix, then the visitor's saved
choice, then Accept-Language, then English (as SecureDrop's i18n.py does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from babel import Locale
from babel.numbers import format_decimal
from flask import Blueprint, Flask, Response, current_app, g, request
from flask_babel import get_locale, gettext
from markupsafe import Markup

from portal.text_language import language_of_writing

LANGUAGE_COOKIE = "lang"
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Language:
    code: str  # in URLs and the language cookie
    catalogue: str  # gettext catalogue under translations/
    tag: str  # BCP 47, for <html lang> and hreflang
    name: str  # the language named in itself, for the switcher
    english_name: str  # for dispatch, who read English
    # The word this language's readers text to the CIT line (the public page names it);
    # texting it gets replies in this language.
    text_keyword: str
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES = (
    Language("en", "en", "en", "English", "English", "PIN"),
    Language("es", "es", "es", "Español", "Spanish", "AYUDA"),
    Language("bs", "bs", "bs", "Bosanski", "Bosnian", "POMOĆ"),
    Language("vi", "vi", "vi", "Tiếng Việt", "Vietnamese", "CỨU"),
    Language("zh", "zh_Hans", "zh-Hans", "简体中文", "Chinese", "求助"),
    Language("ar", "ar", "ar", "العربية", "Arabic", "مساعدة", rtl=True),
)
BY_CODE = {language.code: language for language in LANGUAGES}
ENGLISH = BY_CODE["en"]
PREFIXED_CODES = tuple(code for code in BY_CODE if code != "en")

# Accept-Language primary subtags we serve, beyond our own codes: any Chinese reads the
# Simplified catalogue; Croatian and Serbian readers understand Bosnian better than English.
_ACCEPT_ALIASES = {"hr": "bs", "sr": "bs"}


def language_for_accept_header() -> Language | None:
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].split("_")[0].lower()
        code = _ACCEPT_ALIASES.get(primary, primary)
        if code in BY_CODE:
            return BY_CODE[code]
    return None


def current_language() -> Language:
    """The language of this request (cached on g)."""
    if "language" in g:
        return g.language  # type: ignore[no-any-return]
    language = _choose_language()
    g.language = language
    return language


def _choose_language() -> Language:
    code = g.get("lang_code")
    if code is None and request.path:
        # Unmatched URLs (a 404 under /es/) still answer in the prefix's language.
        first = request.path.lstrip("/").split("/", 1)[0]
        code = first if first in PREFIXED_CODES else None
    if code is None:
        code = request.cookies.get(LANGUAGE_COOKIE)
    if code in BY_CODE:
        return BY_CODE[code]
    return language_for_accept_header() or ENGLISH


def select_locale() -> str:
    return current_language().catalogue


def localized_route(blueprint: Blueprint, rule: str, **options: Any) -> Callable[[View], View]:
    """Register a view at its English URL and at each language's prefixed URL."""

    def decorator(view: View) -> View:
        blueprint.add_url_rule(rule, defaults={"lang_code": "en"}, view_func=view, **options)
        prefix = "/<any({}):lang_code>".format(",".join(PREFIXED_CODES))
        blueprint.add_url_rule(prefix + rule, view_func=view, **options)
        return view

    return decorator


def is_localized(endpoint: str | None) -> bool:
    return bool(endpoint) and current_app.url_map.is_endpoint_expecting(endpoint, "lang_code")


def in_language(language: str, render: Callable[[], str]) -> str:
    """A text rendered in a language other than the page's: a text message to a texter."""
    from flask_babel import force_locale

    with force_locale(BY_CODE[language].catalogue):
        return str(render())


def url_for_language(language: Language) -> str | None:
    """This page in another language, or None when the page is not translated."""
    from flask import url_for

    if not is_localized(request.endpoint):
        return None
    values = dict(request.view_args or {})
    values["lang_code"] = language.code
    return url_for(request.endpoint, **values)  # type: ignore[arg-type]


def left_to_right(text: str) -> Markup:
    """A code or number set apart left to right, whole: "K7QM-3XPA" inside an Arabic
    sentence neither moves its halves around the hyphen nor breaks there."""
    return Markup('<bdi dir="ltr" class="portal-nowrap">{}</bdi>').format(text)


# Numbers are written as our readers write them: Spanish readers here learned US (or
# Mexican) conventions, 2,200; Bosnian and Vietnamese use the comma as the decimal mark
# and write 2.200, which neither may ever read as "2.2".
_NUMBER_LOCALES = {"en": "en_US", "es": "es_US"}


def isolated(text: str) -> str:
    """Text set apart left to right where no element can be (a page's <title>): Unicode
    LRI ... PDI, so "Call for the Pin" stays whole after an Arabic title."""
    return f"\u2066{text}\u2069"


def whole_number(number: int) -> str:
    """A whole number as the page's readers write it: 2,200 or 2.200."""
    language = current_language()
    return format_decimal(number, locale=_NUMBER_LOCALES.get(language.code, language.catalogue))


def language_name(code: str) -> str:
    """A portal language's name in the reader's language ("Spanish", "الإسبانية"); a code
    no longer among the portal's languages, as it is."""
    language = BY_CODE.get(code)
    if language is None:
        return code
    return str(Locale.parse(language.catalogue).get_language_name(get_locale()) or code)


def written_in(text: str) -> Markup:
    """ "(written in Spanish)" after a family's answer in a language other than the page's,
    so the officer knows to find a reader for it; nothing when it cannot be told."""
    code = language_of_writing(text)
    if code is None or code == current_language().code:
        return Markup("")
    name = language_name(code)
    return Markup(' <span class="portal-written-in">{}</span>').format(
        gettext("(written in %(language)s)", language=name)
    )


def init_app(app: Flask) -> None:
    from portal import times

    app.jinja_env.filters["ltr"] = left_to_right
    app.jinja_env.filters["written_in"] = written_in
    app.jinja_env.filters["whole_number"] = whole_number
    app.jinja_env.filters["isolated"] = isolated
    app.jinja_env.filters["language_name"] = language_name
    # Every time a person reads, in the agency's time zone (portal/times.py). Flask-Babel's
    # own date filters give way to the same helpers, so no page can show a UTC time.
    app.jinja_env.filters["localtime"] = app.jinja_env.filters["datetimeformat"] = times.local_datetime
    app.jinja_env.filters["localdate"] = app.jinja_env.filters["dateformat"] = times.local_date

    @app.url_value_preprocessor
    def _pop_lang_code(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and "lang_code" in values:
            g.lang_code = values.pop("lang_code")

    @app.url_defaults
    def _add_lang_code(endpoint: str, values: dict[str, Any]) -> None:
        if "lang_code" not in values and is_localized(endpoint):
            values["lang_code"] = current_language().code

    @app.after_request
    def _remember_language(response: Response) -> Response:
        # Reading a page in a language is the choice we remember: it needs no
        # JavaScript and no form, and an explicit click on "English" counts too.
        language = current_language()
        if (
            is_localized(request.endpoint)
            and response.status_code == 200
            and request.cookies.get(LANGUAGE_COOKIE) != language.code
        ):
            response.set_cookie(
                LANGUAGE_COOKIE,
                language.code,
                max_age=365 * 24 * 3600,
                secure=app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                # Lax, not Strict: a visitor arriving from a search result or a
                # text message link should still get the language they chose.
                samesite="Lax",
            )
        return response

    @app.context_processor
    def _language_context() -> dict[str, Any]:
        return {
            "languages": LANGUAGES,
            "current_language": current_language(),
            "url_for_language": url_for_language,
        }
