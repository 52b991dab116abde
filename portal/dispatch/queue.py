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
from sqlalchemy import case, select

from portal.dispatch import alerts
from portal.dispatch.handoffs import HandOff
from portal.dispatch.models import ALERT_PURPOSES, CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.settings import Settings

# The texts that opened a request are stored with it, within a fraction of a second; a
# text later than this is news. (No column says which texts opened the request.)
OPENED_WITH = timedelta(seconds=1)


@dataclass(frozen=True)
class Delivery:
    """How far a request's dispatch alert got, in words, and whether it is in trouble."""

    words: str
    trouble: bool = False


@dataclass(frozen=True)
class QueueRow:
    request: CitRequest
    waited: timedelta
    overdue: bool  # not acknowledged within PORTAL_ACKNOWLEDGE_WITHIN, or its hand-off not
    # The partner it was handed to, until the dispatcher accepts the partner's outcome.
    handoff: HandOff | None
    # Handed off, and the partner has not acknowledged within PORTAL_ACKNOWLEDGE_WITHIN:
    # handing off acknowledged the request, so without this nobody would see it wait.
    handoff_overdue: bool
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
    handed = open_handoffs([item.id for item in waiting])
    late = {
        request_id
        for request_id, handoff in handed.items()
        if handoff.state == "waiting" and now - handoff.created_at > due
    }
    return [
        QueueRow(
            request=item,
            waited=now - item.created_at,
            overdue=(item.status == "open" and now - item.created_at > due) or item.id in late,
            handoff=handed.get(item.id),
            handoff_overdue=item.id in late,
            supervisors_alerted=item.status == "open" and item.supervisors_alerted_at is not None,
            unread_text=unread.get(item.id),
            opted_out=item.id in opted_out,
            delivery=delivery(item, sent[item.id]),
        )
        for item in waiting
    ]


def open_handoffs(request_ids: list[int]) -> dict[int, HandOff]:
    """Each request's newest hand-off, for those whose partner's work is not yet accepted."""
    if not request_ids:
        return {}
    query = select(HandOff).where(HandOff.cit_request_id.in_(request_ids)).order_by(HandOff.id)
    newest = {handoff.cit_request_id: handoff for handoff in db.session.scalars(query)}
    return {request_id: handoff for request_id, handoff in newest.items() if handoff.state != "done"}


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
            OutboundMessage.purpose.in_(ALERT_PURPOSES),
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
    """The texter's newest text that came after a dispatcher last opened the request
    (or, never opened, after the first text), by request id."""
    seen = {item.id: item.dispatch_opened_at or item.created_at + OPENED_WITH for item in waiting}
    newest: dict[int, tuple[datetime, int]] = {}
    if seen:
        texts = select(RequestMessage.cit_request_id, RequestMessage.at, RequestMessage.id).where(
            RequestMessage.cit_request_id.in_(seen), RequestMessage.direction == "in"
        )
        for request_id, at, message_id in db.session.execute(texts):
            if at > seen[request_id] and (at, message_id) > newest.get(request_id, (at, 0)):
                newest[request_id] = (at, message_id)
    return {request_id: message_id for request_id, (_at, message_id) in newest.items()}
