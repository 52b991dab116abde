"""Dispatch alerts: what 911 dispatch phones receive about a CIT request, and the
escalation when none of them accepts it in time.

An alert carries only what dispatch needs to act (DESIGN.md): the reference, the
location as given, the callback number, the language, whether a plan is on file, and a
console link; never the plan's contents.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, select

from portal.database import utcnow
from portal.dispatch import texts
from portal.dispatch.models import CitRequest, OptOut, RequestMessage
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.messaging.segments import is_gsm7
from portal.phones import for_display
from portal.plans.models import CrisisPlan
from portal.settings import Settings

log = logging.getLogger(__name__)

# An alert counts as reaching dispatch once Twilio accepted it, unless a failed or
# undelivered status came back later.
REACHED = ("accepted", "sending", "sent", "delivered")
TWO_SEGMENTS = 306  # GSM-7 characters in two SMS segments
LOCATION_LEAST = 60  # a location is never cut shorter than this
LOCATION_MOST = 160  # characters of a location in another script
UPDATE_MOST = 240  # characters of a texter's update in one alert
# Updates to the dispatch phones: one at once, then at most one a minute per request
# (a flood of texts must not bury other alerts; the console holds every text).
UPDATES_EVERY = timedelta(minutes=1)


def texter_opted_out(request: CitRequest) -> bool:
    """The texter sent STOP: texts cannot reach them, dispatch must call back."""
    return request.callback_index is not None and db.session.get(OptOut, request.callback_index) is not None


def opted_out_requests(requests: list[CitRequest]) -> set[int]:
    """The ids of the requests whose texter opted out, in one query (for the queue)."""
    indexes = {request.callback_index for request in requests if request.callback_index}
    if not indexes:
        return set()
    opted_out = set(db.session.scalars(select(OptOut.number_index).where(OptOut.number_index.in_(indexes))))
    return {request.id for request in requests if request.callback_index in opted_out}


def queue_texter_text(request: CitRequest, body: str) -> bool:
    """Text the texter of a request through the outbox, unless there is none or they
    opted out (STOP). Returns whether a text was queued."""
    if request.source != "sms" or not request.callback_number or texter_opted_out(request):
        return False
    queue_message(
        to=request.callback_number,
        body=body,
        sender="line",
        purpose="texter_reply",
        cit_request_id=request.id,
    )
    return True


def console_link(request: CitRequest) -> str:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    return f"{settings.public_url}/console/requests/{request.reference}"


def texter_words(text: str, most: int) -> str:
    """A texter's words for a dispatch SMS: quoted, on one line (a newline or a control
    character could forge a "Callback:" line), cut to `most` characters (the console
    holds the whole text)."""
    one_line = " ".join("".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).split())
    if len(one_line) > most:
        one_line = one_line[: most - 3].rstrip() + "..."
    return f'"{one_line}"'


def alert_text(request: CitRequest, plan: CrisisPlan | None) -> str:
    lines = [
        f"CIT REQUEST {request.reference} ({'text line' if request.source == 'sms' else 'voice call'})",
        "Location: {location}",
    ]
    if request.callback_number:
        lines.append(f"Callback: {for_display(request.callback_number)}")
        if texter_opted_out(request):
            lines.append("Texter opted out of texts: call back")
    lines.append(f"Language: {BY_CODE[request.language].english_name}")
    if plan is not None:
        plan_line = f"Crisis plan {plan.reference} on file"
        if plan.cit_requested:
            plan_line += ", asks for CIT"
        if plan.person_confirmed_at is None:
            plan_line += ", not confirmed by person"
        if plan.filed_by in ("guardian", "parent"):
            plan_line += f", filed by {plan.filed_by}"
        if plan.expires_at < utcnow():
            plan_line += ", expired"
        lines.append(plan_line)
    lines.append(console_link(request))
    body = "\n".join(lines)
    return body.format(location=location_for_alert(request, len(body.format(location=""))))


def location_for_alert(request: CitRequest, rest: int) -> str:
    """The location as the alert shows it: whole when the alert then fits two SMS
    segments, else cut to fit them (a location in another script: cut to a length that
    keeps the alert a few segments long, far under Twilio's 1,600 characters)."""
    if request.location is None:
        return "unclear (no place in the texts)" if request.location_source == "unclear" else "not given"
    suffix = " (home address on crisis plan)" if request.location_source == "plan_home" else ""
    budget = TWO_SEGMENTS - rest - len(suffix) - 2 if is_gsm7(request.location) else LOCATION_MOST
    return texter_words(request.location, max(budget, LOCATION_LEAST)) + suffix


def queue_dispatch_alerts(request: CitRequest, plan: CrisisPlan | None) -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    body = alert_text(request, plan)
    for number in settings.dispatch_numbers:
        queue_message(
            to=number, body=body, sender="line", purpose="dispatch_alert", cit_request_id=request.id
        )


def queue_update_alerts(request: CitRequest, text: str) -> None:
    """Pass a texter's text to the dispatch phones: at once if none went in the last
    minute, else counted and sent together by send_waiting_updates."""
    now = utcnow()
    if request.last_update_alert_at is not None and now - request.last_update_alert_at < UPDATES_EVERY:
        request.updates_waiting = (request.updates_waiting or 0) + 1
        return
    request.last_update_alert_at, request.updates_waiting = now, 0
    _alert_dispatch(request, f"{request.reference} update from texter: {texter_words(text, UPDATE_MOST)}")


def send_waiting_updates() -> None:
    """Scheduled: the texts held back by the one-a-minute rule, as one update per request."""
    due = select(CitRequest).where(
        CitRequest.updates_waiting > 0, CitRequest.last_update_alert_at <= utcnow() - UPDATES_EVERY
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    for request in db.session.scalars(due).all():
        latest = next((m.body for m in reversed(request.messages) if m.direction == "in"), "")
        count = request.updates_waiting
        request.last_update_alert_at, request.updates_waiting = utcnow(), 0
        if request.status != "closed":
            _alert_dispatch(
                request,
                f"{request.reference}: {count} more texts from texter, latest: "
                f"{texter_words(latest, UPDATE_MOST)}\n{console_link(request)}",
            )
    db.session.commit()


def _alert_dispatch(request: CitRequest, body: str) -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    for number in settings.dispatch_numbers:
        queue_message(
            to=number, body=body, sender="line", purpose="dispatch_update", cit_request_id=request.id
        )


def change_location(request: CitRequest, location: str, source: str) -> None:
    """A new place for an open request: the old one stays in the request's history, and
    dispatch is told at once."""
    was = request.location
    note = f"Location changed. Was: {was}" if was else "Location given."
    request.messages.append(RequestMessage(direction="note", author="CIT text line", body=note))
    request.location, request.location_source = location, source
    lines = [f"{request.reference} LOCATION CHANGED: {texter_words(location, LOCATION_MOST)}"]
    if was:
        lines.append(f"(was: {texter_words(was, LOCATION_LEAST)})")
    lines.append(console_link(request))
    _alert_dispatch(request, "\n".join(lines))


def tell_dispatch_of_opt_out(callback_index: str) -> None:
    """A texter sent STOP while a request is open: dispatch must call back instead."""
    waiting = select(CitRequest).where(
        CitRequest.callback_index == callback_index, CitRequest.status != "closed"
    )
    for request in db.session.scalars(waiting):
        request.messages.append(
            RequestMessage(direction="note", author="CIT text line", body="Texter opted out of texts (STOP).")
        )
        _alert_dispatch(request, f"{request.reference}: texter opted out of texts (STOP): call back")


def acknowledge(request: CitRequest, by: str) -> None:
    """A dispatcher has the request; the texter is told so, once."""
    if request.acknowledged_at is not None:
        return
    request.status, request.acknowledged_at, request.acknowledged_by = "acknowledged", utcnow(), by
    body = texts.request_acknowledged(request.language, request.reference)
    if queue_texter_text(request, body):
        request.messages.append(RequestMessage(direction="out", author="CIT text line", body=body))


def escalate_unreached() -> None:
    """Scheduled, every few seconds: requests no dispatch number accepted in time.

    The fallback numbers get the alert and the texter is told to call 911 (as the FCC's
    bounce-back rule for Text-to-911 asks); both are retried until Twilio accepts them.
    """
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    reached = exists().where(
        OutboundMessage.cit_request_id == CitRequest.id,
        OutboundMessage.purpose == "dispatch_alert",
        OutboundMessage.status.in_(REACHED),
    )
    due = select(CitRequest).where(
        CitRequest.escalated_at.is_(None),
        CitRequest.status == "open",
        CitRequest.created_at < utcnow() - timedelta(seconds=settings.dispatch_timeout),
        ~reached,
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    for request in db.session.scalars(due).all():
        log.error(
            "dispatch not reached for request %s: trying fallback numbers, telling the texter",
            request.reference,
        )
        request.escalated_at = utcnow()
        plan = db.session.get(CrisisPlan, request.plan_id) if request.plan_id else None
        for number in settings.fallback_numbers:
            queue_message(
                to=number,
                body=alert_text(request, plan),
                sender="line",
                purpose="fallback_alert",
                cit_request_id=request.id,
            )
        queue_texter_text(request, texts.bounce_back(request.language))
    db.session.commit()


def escalate_unacknowledged() -> None:
    """Scheduled: a request nobody acknowledged in time (3 minutes by default) is sent to
    dispatch again, and the supervisors are alerted."""
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    due = select(CitRequest).where(
        CitRequest.status == "open",
        CitRequest.supervisors_alerted_at.is_(None),
        CitRequest.created_at < utcnow() - timedelta(seconds=settings.acknowledge_within),
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    for request in db.session.scalars(due).all():
        log.warning("request %s not acknowledged in time: alerting supervisors", request.reference)
        request.supervisors_alerted_at = utcnow()
        plan = db.session.get(CrisisPlan, request.plan_id) if request.plan_id else None
        body = "NOT ACKNOWLEDGED\n" + alert_text(request, plan)
        for number in settings.dispatch_numbers:
            queue_message(
                to=number, body=body, sender="line", purpose="dispatch_alert", cit_request_id=request.id
            )
        for number in settings.supervisor_numbers:
            queue_message(
                to=number, body=body, sender="line", purpose="supervisor_alert", cit_request_id=request.id
            )
    db.session.commit()
