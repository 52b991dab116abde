"""The dispatcher console. Every page needs sign-in; access is checked in one place.

Deny by default: a console view must declare its role with @requires(...), or nobody
may use it; only the sign-in and set-up pages are open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from portal.database import utcnow
from portal.dispatch import display, requests
from portal.dispatch.models import CitRequest
from portal.extensions import db

if TYPE_CHECKING:
    from portal.console.models import ConsoleUser

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


def polled_part(version: str, render: Callable[[], str]) -> Response:
    """A part of a page polled every 2 seconds (static/js/console.js sends the version it
    shows): 204, nothing to swap, while that is still what there is to show, so a poll
    never wipes what is being typed into it; else the part, with its new version."""
    if request.headers.get("X-Shown-Version") == version:
        response = Response(status=204)
    else:
        response = Response(render())
    response.headers["X-Version"] = version
    return response


def thread_part(item: CitRequest) -> Response:
    """A request's messages after the last one its page shows (that message's id, sent as
    the version), to add at the end of the thread; 204 while there is none. Messages are
    only ever added, in id order."""
    shown = request.headers.get("X-Shown-Version", "")
    after = int(shown) if shown.isdigit() else 0
    newer = [message for message in item.messages if message.id > after]
    if not newer:
        return Response(status=204, headers={"X-Version": str(after)})
    response = Response(render_template("console/_thread_items.html", messages=newer))
    if not after:
        response.headers["HX-Reswap"] = "innerHTML"  # in place of "No messages yet."
    response.headers["X-Version"] = str(newer[-1].id)
    return response


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
    from portal.console.accounts import find_session, session_user

    if request.endpoint in OPEN_ENDPOINTS:
        return None
    session_id = request.cookies.get(COOKIE)
    record, why = find_session(session_id) if session_id else (None, None)
    if record is None or not record.second_factor_done:
        db.session.commit()
        if why == "idle" and request.endpoint in ("console.queue_rows", "console.partner_rows"):
            return locked_screen(session_user(session_id) if session_id else None)
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


def locked_screen(user: ConsoleUser | None) -> str:
    """A timed-out queue still counts what waits and sounds the alert, showing nothing
    else until its user signs in again: a dispatcher's, the requests nobody acknowledged;
    a partner's, the hand-offs to its organisation nobody acknowledged."""
    from sqlalchemy import func, select

    from portal.dispatch import handoffs

    if user is not None and user.partner_id is not None:
        handed = handoffs.partner_handoffs(user.partner_id)
        new_ids = [handoff.id for handoff in handed if handoff.state == "waiting"]
        waiting, newest = len(new_ids), max(new_ids, default=0)
    else:
        waiting = (
            db.session.scalar(select(func.count()).select_from(CitRequest).where(CitRequest.status == "open"))
            or 0
        )
        newest = db.session.scalar(select(func.max(CitRequest.id))) or 0
    return render_template("console/_locked.html", waiting=waiting, newest=newest)


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
