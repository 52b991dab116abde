"""The dispatcher console. Every page needs sign-in; access is checked in one place.

Deny by default: a console view must declare its role with @requires(...), or nobody
may use it; only the sign-in and set-up pages are open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from portal.database import utcnow
from portal.dispatch import display, requests
from portal.dispatch.models import CitRequest
from portal.extensions import db

bp = Blueprint("console", __name__, url_prefix="/console")

COOKIE = "console_session"
OPEN_ENDPOINTS = frozenset(
    {"console.sign_in", "console.second_factor", "console.setup_link", "console.setup"}
)
REQUIRED_ROLE: dict[str, str] = {}
View = TypeVar("View", bound=Callable[..., Any])


@bp.app_template_filter("who")
def _who(actor_name: str | None) -> Markup:
    return display.who_words(actor_name)


def requires(role: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        REQUIRED_ROLE[f"console.{view.__name__}"] = role
        return view

    return decorator


def audit_action(action: str, **fields: Any) -> None:
    """An audit row for what the signed-in console user just did."""
    from portal import audit

    audit.record(action, actor_id=g.console_user.id, actor_name=g.console_user.display_name, **fields)


def find_request(reference: str) -> CitRequest:
    """The CIT request a console URL names, or 404."""
    found = requests.find(reference)
    if found is None:
        abort(404)
    return found


def is_background_poll() -> bool:
    """The queue's own polling (htmx, or the no-script refresh) is not activity."""
    return bool(request.headers.get("HX-Request")) or request.args.get("auto") == "1"


@bp.before_request
def _check_access() -> Any:
    from portal.console.accounts import find_session

    if request.endpoint in OPEN_ENDPOINTS:
        return None
    session_id = request.cookies.get(COOKIE)
    record, why = find_session(session_id) if session_id else (None, None)
    if record is None or not record.second_factor_done:
        db.session.commit()
        if why == "idle" and request.endpoint == "console.queue_rows":
            return locked_screen()
        if why is None and request.endpoint == "console.queue_rows":
            from portal.console.replaced import replaced_screen

            replaced = replaced_screen()  # this account signed in elsewhere: say so
            if replaced is not None:
                return replaced
        sign_in = url_for("console.sign_in", timed_out=why or None)
        if request.headers.get("HX-Request"):
            return Response(status=204, headers={"HX-Redirect": sign_in})  # the whole page goes
        return redirect(sign_in)
    role = REQUIRED_ROLE.get(request.endpoint or "")
    if role is None or not record.user.may(role):
        abort(403)
    g.console_user = record.user
    if not is_background_poll():
        record.last_active_at = utcnow()
    db.session.commit()
    return None


def locked_screen() -> str:
    """A timed-out console still counts open requests and sounds the alert, showing
    nothing else until the dispatcher signs in again."""
    from sqlalchemy import func, select

    waiting = db.session.scalar(
        select(func.count()).select_from(CitRequest).where(CitRequest.status == "open")
    )
    newest = db.session.scalar(select(func.max(CitRequest.id)))
    return render_template("console/_locked.html", waiting=waiting or 0, newest=newest or 0)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


from portal.console import (  # noqa: E402,F401
    admin_views,
    auth_views,
    follow_up_views,
    handoff_views,
    officer_cards,
    plan_views,
    queue_views,
    reports,
)
