"""A CIT request's lifecycle in one place: opened by hand for a 911 voice call (the text
line opens texted ones, portal.sms.conversation), acknowledged, noted, answered by text,
closed with a disposition.

The console's views call these and only read forms and render; an API and partner
hand-offs are to call the same functions. Each changes the request in the caller's
transaction (none commits) and says whether it did anything, so that the caller audits
only what was really done.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from portal.database import utcnow
from portal.dispatch import alerts, texts
from portal.dispatch.display import DISPOSITIONS
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index, to_e164
from portal.plans.models import CrisisPlan
from portal.plans.services import find_plans_by_phone

# A closed request still counts as the reason to open its plan this long after it came.
LINKED_FOR = timedelta(hours=12)


class RequestClosed(Exception):
    """The request is closed: nothing more is done with it."""


def find(reference: str) -> CitRequest | None:
    return db.session.scalar(select(CitRequest).where(CitRequest.reference == reference.strip().upper()))


def plan_for_callback(number: str | None) -> CrisisPlan | None:
    """The crisis plan a callback number is on, as the text line finds it for a texter:
    the newest plan with this phone; a phone still pending (nobody has shown they hold
    it) finds none."""
    if not number:
        return None
    plans = find_plans_by_phone(number)
    return plans[-1] if plans else None


def link_plan(request: CitRequest, plan: CrisisPlan | None) -> None:
    request.plan_id = plan.id if plan else None
    request.plan_reference = plan.reference if plan else None
    request.plan_asks_for_cit = bool(plan and plan.cit_requested)


def open_by_hand(
    *, location: str, callback: str | None, language: str, note: str | None, by: str
) -> CitRequest:
    """A request typed in for a 911 voice call, so that every CIT request is counted: the
    dispatcher who types it has it (acknowledged), and its callback number finds the
    caller's crisis plan. Raises portal.phones.InvalidPhone for a callback number that is
    no phone number."""
    if language not in BY_CODE:
        raise ValueError(f"unknown language {language!r}")
    number = to_e164(callback) if callback and callback.strip() else None
    now = utcnow()
    request = CitRequest(
        source="voice",
        callback_number=number,
        callback_index=phone_index(number) if number else None,
        language=language,
        location=location.strip(),
        location_source="console",
        status="acknowledged",
        acknowledged_at=now,
        acknowledged_by=by,
    )
    link_plan(request, plan_for_callback(number))
    if note and note.strip():
        request.messages = [RequestMessage(direction="note", body=note.strip(), author=by)]
    db.session.add(request)
    db.session.flush()  # its reference, for the caller's audit row and redirect
    return request


def mark_opened(request: CitRequest) -> None:
    """A dispatcher has the request's page in front of them: its texts so far are read."""
    request.dispatch_opened_at = utcnow()


def acknowledge(request: CitRequest, by: str) -> bool:
    """A dispatcher has the request; the texter is told so, once."""
    if request.status != "open":
        return False
    alerts.acknowledge(request, by)
    return True


def add_note(request: CitRequest, body: str, by: str) -> bool:
    if not body.strip():
        return False
    request.messages.append(RequestMessage(direction="note", body=body.strip(), author=by))
    return True


def text_texter(request: CitRequest, body: str, by: str) -> bool:
    """Text the texter (unless there is none or they opted out) and keep the text in the
    request's thread."""
    if not alerts.queue_texter_text(request, body):
        return False
    request.messages.append(RequestMessage(direction="out", body=body, author=by))
    return True


def reply(request: CitRequest, key: str, by: str) -> bool:
    """One of the short texts a dispatcher sends (texts.DISPATCHER_REPLIES), in the
    texter's language."""
    if key not in texts.DISPATCHER_REPLIES:
        raise ValueError(f"unknown reply {key!r}")
    if request.status == "closed":
        return False
    return text_texter(request, texts.dispatcher_reply(request.language, key), by)


def close(
    request: CitRequest, *, disposition: str, cad_number: str | None, tell_texter: bool, by: str
) -> None:
    """Close with a disposition (one of DISPOSITIONS; there is no default) and the CAD
    incident number if there is one. A request closed unacknowledged counts as
    acknowledged when it was closed. Raises RequestClosed if it already was."""
    if disposition not in DISPOSITIONS:
        raise ValueError(f"unknown disposition {disposition!r}")
    if request.status == "closed":
        raise RequestClosed(request.reference)
    request.status = "closed"
    request.closed_at = utcnow()
    request.closed_by = by
    request.disposition = disposition
    request.cad_number = (cad_number or "").strip() or None
    if request.acknowledged_at is None:
        request.acknowledged_at, request.acknowledged_by = request.closed_at, by
    if tell_texter:
        text_texter(request, texts.request_closed(request.language, request.reference), by)
    # After the close: the family's text (if they chose it) and the follow-up (with consent).
    from portal.dispatch import family_texts, follow_ups

    follow_ups.schedule_follow_up(request)
    family_texts.request_closed(request)


def texts_sent(request: CitRequest) -> list[OutboundMessage]:
    """Every text sent about the request (alerts, updates, texts to the texter), oldest
    first, for their delivery."""
    query = (
        select(OutboundMessage)
        .where(OutboundMessage.cit_request_id == request.id)
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
    )
    return list(db.session.scalars(query))


def linked_requests(plan: CrisisPlan) -> list[CitRequest]:
    """The requests that are a reason to open this plan now: linked to it by their
    callback number, and open or received in the last LINKED_FOR. Newest first."""
    query = (
        select(CitRequest)
        .where(
            CitRequest.plan_id == plan.id,
            or_(CitRequest.status != "closed", CitRequest.created_at > utcnow() - LINKED_FOR),
        )
        .order_by(CitRequest.created_at.desc(), CitRequest.id.desc())
    )
    return list(db.session.scalars(query))
