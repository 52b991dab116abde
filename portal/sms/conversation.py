"""The CIT text line's conversation: one step per inbound text, in one transaction.

A first text (a keyword, HELP, or anything else) is answered with the 911 and 988 lines;
once there is a location, a CIT request is created and its dispatch alerts are queued
in the same transaction, so a request the texter was told about is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from portal import ratelimit
from portal.database import utcnow
from portal.dispatch.alerts import queue_dispatch_alerts, queue_texter_text, queue_update_alerts
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.phones import phone_index
from portal.plans.models import CrisisPlan
from portal.plans.services import find_plans_by_phone
from portal.sms import keywords, texts
from portal.dispatch.models import OptOut
from portal.sms.models import Conversation

SILENCE = timedelta(minutes=30)  # a conversation is forgotten after this much silence
LOCATION_WAIT = timedelta(minutes=2)  # then the request goes to dispatch without one
REPLY_CAP = 10  # replies to one texter ...
REPLY_WINDOW = 600  # ... per 10 minutes
PLAN_HOME = "1"


@dataclass
class Step:
    """What one inbound text did: the reply to send (None: say nothing)."""

    reply: str | None


def handle_text(number: str, body: str) -> Step:
    """Take one inbound text from `number` (E.164). The caller commits."""
    index = phone_index(number)
    word = keywords.first_word(body)
    if word in keywords.OPT_OUT and len(body.split()) == 1:
        if db.session.get(OptOut, index) is None:
            db.session.add(OptOut(number_index=index))
        return Step(None)  # Twilio answers opt-out words itself
    if word in keywords.OPT_IN and len(body.split()) == 1:
        optout = db.session.get(OptOut, index)
        if optout is not None:
            db.session.delete(optout)
            return Step(None)
    opted_out = db.session.get(OptOut, index) is not None

    now = utcnow()
    conversation = db.session.get(Conversation, index)
    if conversation is not None and now - conversation.last_message_at > SILENCE:
        db.session.delete(conversation)
        db.session.flush()
        conversation = None

    if conversation is None:
        reply = start_conversation(number, index, body)
    else:
        conversation.last_message_at = now
        reply = continue_conversation(conversation, body)

    allowed = ratelimit.allow(f"texter-replies:{index}", limit=REPLY_CAP, window_seconds=REPLY_WINDOW)
    return Step(reply if allowed and not opted_out else None)


def start_conversation(number: str, index: str, body: str) -> str:
    plans = find_plans_by_phone(number)
    plan = plans[-1] if plans else None
    matched = keywords.match_keyword(body)
    switch = keywords.SWITCH_WORDS.get(keywords.fold(body))
    language = (
        switch
        or (matched[0] if matched and matched[0] != "en" else None)
        or keywords.language_of_script(body)
        or keywords.language_of_words(body)
        or (plan.language if plan else None)
        or "en"
    )
    rest = matched[1] if matched else ("" if switch else body.strip())
    conversation = Conversation(
        number_index=index,
        number=number,
        language=language,
        stage="awaiting_location",
        first_message=body.strip(),
        offered_plan_id=plan.id if plan and home_address(plan) else None,
    )
    db.session.add(conversation)
    if rest and keywords.looks_like_location(rest):
        request = open_request(conversation, location=rest, source="texted")
        return texts.request_sent(language, request.reference, first=True)
    return texts.ask_location(language, plan_offered=conversation.offered_plan_id is not None)


def continue_conversation(conversation: Conversation, body: str) -> str:
    switch = keywords.SWITCH_WORDS.get(keywords.fold(body))
    if conversation.stage == "awaiting_location":
        if switch:
            conversation.language = switch
            return texts.ask_location(switch, plan_offered=conversation.offered_plan_id is not None)
        if keywords.match_keyword(body) and not keywords.looks_like_location(body):
            return texts.ask_location(
                conversation.language, plan_offered=conversation.offered_plan_id is not None
            )
        plan = (
            db.session.get(CrisisPlan, conversation.offered_plan_id) if conversation.offered_plan_id else None
        )
        if plan is not None and body.strip() == PLAN_HOME:
            opened = open_request(conversation, location=home_address(plan), source="plan_home")
        else:
            opened = open_request(conversation, location=body.strip(), source="texted", message=body)
        return texts.request_sent(conversation.language, opened.reference, first=False)

    request = db.session.get(CitRequest, conversation.cit_request_id) if conversation.cit_request_id else None
    if switch:
        conversation.language = switch
        if request is not None:
            request.language = switch
        return texts.update_forwarded(switch, request.reference) if request else texts.bounce_back(switch)
    if request is None or request.status == "closed":
        # The request was closed (or deleted): this text starts a new one.
        db.session.delete(conversation)
        db.session.flush()
        return start_conversation(conversation.number, conversation.number_index, body)
    request.messages.append(RequestMessage(direction="in", body=body.strip()))
    queue_update_alerts(request, body.strip())
    return texts.update_forwarded(conversation.language, request.reference)


def home_address(plan: CrisisPlan) -> str | None:
    address = (plan.details.get("where") or {}).get("home_address")
    return address.strip() if isinstance(address, str) and address.strip() else None


def open_request(
    conversation: Conversation, *, location: str | None, source: str, message: str | None = None
) -> CitRequest:
    """Create the CIT request and queue its dispatch alerts, in the caller's transaction."""
    plans = find_plans_by_phone(conversation.number)
    plan = plans[-1] if plans else None
    request = CitRequest(
        source="sms",
        callback_number=conversation.number,
        callback_index=conversation.number_index,
        language=conversation.language,
        location=location,
        location_source=source if location else "none",
        plan_id=plan.id if plan else None,
        plan_reference=plan.reference if plan else None,
        plan_asks_for_cit=bool(plan and plan.cit_requested),
    )
    request.messages = [RequestMessage(direction="in", body=conversation.first_message or "")]
    if message and message.strip() != (conversation.first_message or ""):
        request.messages.append(RequestMessage(direction="in", body=message.strip()))
    db.session.add(request)
    db.session.flush()
    conversation.stage = "request_open"
    conversation.cit_request_id = request.id
    queue_dispatch_alerts(request, plan)
    return request


def forward_silent_texters() -> None:
    """Scheduled: a texter who gave no location within 2 minutes is still forwarded."""
    waiting = select(Conversation).where(
        Conversation.stage == "awaiting_location",
        Conversation.started_at < utcnow() - LOCATION_WAIT,
    )
    if db.engine.dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    for conversation in db.session.scalars(waiting).all():
        request = open_request(conversation, location=None, source="none")
        queue_texter_text(request, texts.sent_without_location(conversation.language, request.reference))
    db.session.commit()
