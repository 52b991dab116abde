"""The public "program in numbers" page: this year's figures, none below 10.

Its figures change once a week (portal.dispatch.statistics.published), so it stays out
of the page cache (portal/public/cache.py), which keeps a page until a catalogue or the
agency file changes. The figures are counted at most once a minute per process instead,
in a transaction that only reads (on SQLite it never holds the write lock the text line
needs), and the page is rendered for each visitor (a flashed message shows like on any
page), with a short max-age and an ETag for a browser that asks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import monotonic

from flask import Flask, current_app, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from portal.database import begin_reading
from portal.dispatch.statistics import SMALLEST_SHOWN, Published, published
from portal.extensions import db
from portal.i18n import language_name, left_to_right, whole_number

log = logging.getLogger(__name__)


@dataclass
class Counted:
    figures: Published
    at: float  # monotonic


class NumbersCache:
    """This year's published figures, counted again once `lifetime` seconds have passed."""

    lifetime = 60.0

    def __init__(self) -> None:
        self._counted: Counted | None = None

    def figures(self) -> Published | None:
        """None while the database cannot be read: the page says so, and counts again on
        the next visit."""
        counted = self._counted
        now = monotonic()
        if counted is None or now - counted.at >= self.lifetime:
            try:
                if not db.session().in_transaction():
                    begin_reading(db.session)
                counted = self._counted = Counted(published(), now)
            except SQLAlchemyError as error:
                log.warning("public numbers not counted: %s", type(error).__name__)
                return None
            finally:
                db.session.rollback()
        return counted.figures


def numbers_cache() -> NumbersCache:
    return current_app.extensions["public_numbers"]  # type: ignore[no-any-return]


def count_words(count: int | None) -> Markup:
    """A count as residents read it: "fewer than 10" below 10, never the count itself."""
    if count is None:
        return Markup("{}").format(_("fewer than %(number)s", number=whole_number(SMALLEST_SHOWN)))
    return left_to_right(whole_number(count))


def render_numbers(page: object) -> ResponseReturnValue:
    figures = numbers_cache().figures()
    if figures is None:
        response = current_app.make_response(render_template("public/numbers.html", page=page, figures=None))
        response.headers["Cache-Control"] = "no-store"
        return response
    median = (
        left_to_right(format_decimal(round(figures.median_minutes, 1), "0.0"))
        if figures.median_minutes is not None
        else None
    )
    body = render_template(
        "public/numbers.html",
        page=page,
        figures=figures,
        count_words=count_words,
        median=median,
        care_share=left_to_right(format_percent(figures.care_share))
        if figures.care_share is not None
        else None,
        language_counts=[(language_name(code), count) for code, count in figures.languages],
    )
    response = current_app.make_response(body)
    if "_flashes" in session:
        response.headers["Cache-Control"] = "no-store"
        return response
    response.headers["Cache-Control"] = f"private, max-age={int(numbers_cache().lifetime)}"
    response.add_etag()
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    app.extensions["public_numbers"] = NumbersCache()
