"""A queue whose session ended because its account signed in somewhere else (one session
per account, PORTAL_CONSOLE_CONCURRENT_SESSIONS): the page says so, and keeps counting
open requests and sounding the alert as the locked screen does, instead of turning into a
bare sign-in page on a dispatcher who looked away.

The session row is gone by then, so the queue page carries a signed note of whose queue
it is and the account's last sign-in when the page was made; its polling sends the note
back, and a later sign-in of that account in the audit trail is the answer.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.console.models import ConsoleUser
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.settings import Settings

HEADER = "X-Console-Seat"  # sent by the queue's polling (hx-headers)
SALT = "console-queue-seat"


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=SALT)


def seat_token(user: ConsoleUser) -> str:
    """For the queue page: this account, and its newest sign-in so far."""
    last = db.session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.action == "sign_in", AuditEvent.outcome == "ok", AuditEvent.actor_id == user.id
        )
    )
    return _signer().dumps([user.id, last or 0])


def signed_in_elsewhere() -> datetime | None:
    """When the account of the polling queue signed in again since the page was made, or
    None (no note, a forged or stale one, or no later sign-in: signed out, deactivated)."""
    token = request.headers.get(HEADER)
    if not token:
        return None
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    try:
        user_id, last = _signer().loads(token, max_age=int(settings.console_absolute_hours * 3600))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(last, int):
        return None
    later = db.session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.action == "sign_in",
            AuditEvent.outcome == "ok",
            AuditEvent.actor_id == user_id,
            AuditEvent.id > last,
        )
    )
    return later


def replaced_screen() -> str | None:
    """The queue's polling, answered when another sign-in ended its session; else None."""
    at = signed_in_elsewhere()
    if at is None:
        return None
    waiting = db.session.scalar(
        select(func.count()).select_from(CitRequest).where(CitRequest.status == "open")
    )
    newest = db.session.scalar(select(func.max(CitRequest.id)).where(CitRequest.status == "open"))
    return render_template("console/_replaced.html", at=at, waiting=waiting or 0, newest=newest or 0)
