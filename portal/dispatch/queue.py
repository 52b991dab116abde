"""The queue as a dispatcher reads it at a glance: every request not closed, the ones
nobody acknowledged first and the oldest of those first (the overdue ones); how long each
has waited and whether that is too long; whether supervisors were alerted; a texter's
text that nobody has read yet; how far the dispatch alert got, in words; a texter who
opted out of texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import case, func, select

from portal.audit import AuditEvent
from portal.dispatch import alerts
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.settings import Settings

# The texts that opened a request are stored with it, within a fraction of a second; a
# text later than this is news. (No column says which texts opened the request.)
OPENED_WITH = timedelta(seconds=1)
# Done from the queue's own rows: says nothing about the request's texts being read.
NOT_A_LOOK = ("request.acknowledge",)


@dataclass(frozen=True)
class Delivery:
    """How far a request's dispatch alert got, in words, and whether it is in trouble."""

    words: str
    trouble: bool = False


@dataclass(frozen=True)
class QueueRow:
    request: CitRequest
    waited: timedelta
    overdue: bool  # not acknowledged within PORTAL_ACKNOWLEDGE_WITHIN
    supervisors_alerted: bool  # escalated, and still not acknowledged
    # The newest text from the texter that no dispatcher has looked at since (its id).
    unread_text: int | None
    opted_out: bool
    delivery: Delivery

    @property
    def waited_words(self) -> str:
        words = waited_words(self.waited)
        # Translators: the queue's "Waiting" column for a request waiting too long, e.g. "6 min — overdue".
        return _("%(waited)s — overdue", waited=words) if self.overdue else words


def waiting_requests() -> list[CitRequest]:
    """Not closed: the unacknowledged first, oldest first; then the acknowledged."""
    query = (
        select(CitRequest)
        .where(CitRequest.status != "closed")
        .order_by(case((CitRequest.status == "open", 0), else_=1), CitRequest.created_at, CitRequest.id)
    )
    return list(db.session.scalars(query))


def rows(now: datetime) -> list[QueueRow]:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    due = timedelta(seconds=settings.acknowledge_within)
    waiting = waiting_requests()
    sent = alerts_sent([item.id for item in waiting])
    unread = unread_texts(waiting)
    opted_out = alerts.opted_out_requests(waiting)
    return [
        QueueRow(
            request=item,
            waited=now - item.created_at,
            overdue=item.status == "open" and now - item.created_at > due,
            supervisors_alerted=item.status == "open" and item.supervisors_alerted_at is not None,
            unread_text=unread.get(item.id),
            opted_out=item.id in opted_out,
            delivery=delivery(item, sent[item.id]),
        )
        for item in waiting
    ]


def summary(total: int, waiting: int, overdue: int) -> str:
    """The queue in one sentence: "25 requests not closed: 12 not acknowledged, 7 overdue"."""
    if not total:
        return str(_("No open requests."))
    words = ngettext("%(num)d request not closed", "%(num)d requests not closed", total)
    if not waiting:
        return str(_("%(total)s, all acknowledged", total=words))
    waiting_words = ngettext("%(num)d not acknowledged", "%(num)d not acknowledged", waiting)
    if not overdue:
        return str(_("%(total)s: %(waiting)s", total=words, waiting=waiting_words))
    overdue_words = ngettext("%(num)d overdue", "%(num)d overdue", overdue)
    # Translators: the queue's summary, e.g. "25 requests not closed: 12 not acknowledged, 7 overdue".
    return str(
        _("%(total)s: %(waiting)s, %(overdue)s", total=words, waiting=waiting_words, overdue=overdue_words)
    )


def title_prefix(waiting: int, overdue: int) -> str:
    """Before the page's title, read on a tab in the background: "(7 overdue, 12 waiting)"."""
    if overdue:
        return str(_("(%(overdue)d overdue, %(waiting)d waiting)", overdue=overdue, waiting=waiting))
    return str(_("(%(waiting)d waiting)", waiting=waiting)) if waiting else ""


def waited_words(waited: timedelta) -> str:
    """How long a request has waited: "40 s", "6 min", "1 h 5 min" (whole minutes alone
    would make a request of 59 seconds look just in)."""
    seconds = max(0, int(waited.total_seconds()))
    if seconds < 60:
        return str(ngettext("%(num)d s", "%(num)d s", seconds))
    minutes = seconds // 60
    if minutes < 60:
        return str(ngettext("%(num)d min", "%(num)d min", minutes))
    return str(_("%(hours)d h %(minutes)d min", hours=minutes // 60, minutes=minutes % 60))


def alerts_sent(request_ids: list[int]) -> dict[int, list[OutboundMessage]]:
    """Each request's alerts to the dispatch phones and the fallback numbers."""
    found: dict[int, list[OutboundMessage]] = {request_id: [] for request_id in request_ids}
    if request_ids:
        query = select(OutboundMessage).where(
            OutboundMessage.cit_request_id.in_(request_ids),
            OutboundMessage.purpose.in_(("dispatch_alert", "fallback_alert")),
        )
        for message in db.session.scalars(query):
            if message.cit_request_id is not None:
                found[message.cit_request_id].append(message)
    return found


def _reached(sent: list[OutboundMessage], purpose: str) -> tuple[int, int, bool]:
    """Phones reached, phones alerted, and whether every alert to an unreached phone
    failed. A phone alerted twice (not acknowledged in time) counts once."""
    reached: dict[str, bool] = {}
    failed: dict[str, bool] = {}
    for message in sent:
        if message.purpose == purpose:
            number = message.to_number
            reached[number] = reached.get(number, False) or message.status in alerts.REACHED
            failed[number] = failed.get(number, True) and message.status in ("failed", "undelivered")
    got = sum(reached.values())
    all_failed = bool(reached) and all(reached[number] or failed[number] for number in reached)
    return got, len(reached), all_failed


def delivery(item: CitRequest, sent: list[OutboundMessage]) -> Delivery:
    """The dispatch alert in words, under the queue's "Dispatch alert": "Reached 2 of 2
    phones", "Failed: trying the fallback numbers"; never Twilio's own words."""
    got, phones, all_failed = _reached(sent, "dispatch_alert")
    if phones == 0:
        if item.source == "voice":
            return Delivery(_("None: a voice call"))
        return Delivery(_("No phone alerted"), trouble=True)
    if got:
        words = _("Reached %(got)d of %(all)d phones", got=got, all=phones)
        return Delivery(words, trouble=got < phones)
    if item.escalated_at is not None:
        fallback_got, fallbacks, _failed = _reached(sent, "fallback_alert")
        if fallback_got:
            words = _("Failed: fallback reached %(got)d of %(all)d", got=fallback_got, all=fallbacks)
            return Delivery(words, trouble=True)
        if fallbacks:
            return Delivery(_("Failed: trying the fallback numbers"), trouble=True)
        return Delivery(_("Failed: no fallback numbers"), trouble=True)
    if all_failed:
        return Delivery(_("Failed: fallback numbers next"), trouble=True)
    return Delivery(ngettext("Sending to %(num)d phone", "Sending to %(num)d phones", phones))


def unread_texts(waiting: list[CitRequest]) -> dict[int, int]:
    """The texter's newest text that no dispatcher has looked at, by request id.

    Nothing records when a dispatcher opens a request, so the audit trail stands in: a
    text is read once a dispatcher did something on the request's page after it came (a
    note, a reply, the plan opened for it). Acknowledging is not enough: the queue's
    rows do it too.
    """
    opened = {item.id: item.created_at for item in waiting}
    newest: dict[int, tuple[datetime, int]] = {}
    if opened:
        texts = select(RequestMessage.cit_request_id, RequestMessage.at, RequestMessage.id).where(
            RequestMessage.cit_request_id.in_(opened), RequestMessage.direction == "in"
        )
        for request_id, at, message_id in db.session.execute(texts):
            if at > opened[request_id] + OPENED_WITH and (at, message_id) > newest.get(request_id, (at, 0)):
                newest[request_id] = (at, message_id)
    references = {item.reference: item.id for item in waiting if item.id in newest}
    if references:
        looks = (
            select(AuditEvent.request_reference, func.max(AuditEvent.at))
            .where(
                AuditEvent.request_reference.in_(references),
                AuditEvent.actor_id.is_not(None),
                AuditEvent.action.not_in(NOT_A_LOOK),
            )
            .group_by(AuditEvent.request_reference)
        )
        for reference, looked_at in db.session.execute(looks):
            looked = references.get(reference or "")
            if looked is not None and looked_at is not None and looked_at >= newest[looked][0]:
                del newest[looked]
    return {request_id: message_id for request_id, (_at, message_id) in newest.items()}
