"""The CIT text line's conversation: one step per inbound text, in one transaction.

A first text (a keyword, HELP, or anything else) is answered with the 911 and 988 lines;
once there is a place, a CIT request is created and its dispatch alerts are queued in
the same transaction, so a request the texter was told about is never lost. A text
that is not a place (a question, what is happening) is kept for the request's thread
and the texter is asked once more, plainly. Nothing a texter writes is dropped, and a
texter whose request is open is never left without an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from portal import audit, ratelimit
from portal.database import utcnow
from portal.dispatch.alerts import (
    change_location,
    queue_dispatch_alerts,
    queue_texter_text,
    queue_update_alerts,
    tell_dispatch_of_opt_out,
)
from portal.dispatch.models import CitRequest, OptOut, RequestMessage
from portal.extensions import db
from portal.phones import phone_index
from portal.plans.models import CrisisPlan
from portal.plans.services import find_plans_by_phone
from portal.sms import keywords, texts
from portal.sms.models import Conversation
from portal.sms.reading import Reading

SILENCE = timedelta(minutes=30)  # a conversation without an open request is forgotten then
LOCATION_WAIT = timedelta(minutes=2)  # then the request goes to dispatch without a place
REPLY_CAP = 10  # replies to one texter ...
REPLY_WINDOW = 600  # ... per 10 minutes; past it, an open request still gets ...
COMBINED_EVERY = timedelta(minutes=1)  # ... one combined answer a minute


@dataclass
class Step:
    """What one inbound text did: the reply to send (None: say nothing)."""

    reply: str | None


def handle_text(number: str, text: Reading) -> Step:
    """Take one inbound text from `number` (E.164), read beforehand. The caller commits."""
    index = phone_index(number)
    carrier_word = text.carrier_word
    if carrier_word in keywords.OPT_OUT:
        if db.session.get(OptOut, index) is None:
            db.session.add(OptOut(number_index=index))
            tell_dispatch_of_opt_out(index)
        return Step(None)  # Twilio answers opt-out words itself
    if carrier_word in keywords.OPT_IN:
        optout = db.session.get(OptOut, index)
        if optout is not None:
            db.session.delete(optout)
            return Step(None)
    opted_out = db.session.get(OptOut, index) is not None

    conversation = current_conversation(index)
    if conversation is None:
        conversation, reply = start_conversation(number, index, text)
    else:
        conversation.last_message_at = utcnow()
        reply = continue_conversation(conversation, text)
    return Step(None if opted_out else within_cap(conversation, reply))


def current_conversation(index: str) -> Conversation | None:
    """The texter's conversation; one is made again for a request still open after
    the silence, so that a late text is added to it rather than starting another."""
    # On PostgreSQL the row is locked, so that two texts at once are taken one after the
    # other (SQLite's BEGIN IMMEDIATE already does that).
    conversation = db.session.get(Conversation, index, with_for_update=db.engine.dialect.name == "postgresql")
    if conversation is not None:
        request = _request_of(conversation)
        still_open = request is not None and request.status != "closed"
        if still_open or utcnow() - conversation.last_message_at <= SILENCE:
            return conversation
        db.session.delete(conversation)
        db.session.flush()
    request = db.session.scalar(
        select(CitRequest)
        .where(CitRequest.callback_index == index, CitRequest.status != "closed", CitRequest.source == "sms")
        .order_by(CitRequest.id.desc())
        .limit(1)
    )
    if request is None:
        return None
    conversation = Conversation(
        number_index=index,
        number=request.callback_number,
        language=request.language,
        stage="request_open",
        cit_request_id=request.id,
    )
    db.session.add(conversation)
    return conversation


def _request_of(conversation: Conversation) -> CitRequest | None:
    return db.session.get(CitRequest, conversation.cit_request_id) if conversation.cit_request_id else None


def first_language(text: Reading, plan: CrisisPlan | None) -> str:
    """The language of a first text: a switch word, then the words' language (even
    beside PIN or CIT), then the plan's, then English."""
    return (
        text.switch
        or (text.keyword_language if text.keyword_language != "en" else None)
        or text.script_language
        or text.sentence_language
        or (plan.language if plan else None)
        or "en"
    )


def start_conversation(number: str, index: str, text: Reading) -> tuple[Conversation, str]:
    plans = find_plans_by_phone(number)
    plan = plans[-1] if plans else None
    language = first_language(text, plan)
    conversation = Conversation(
        number_index=index,
        number=number,
        language=language,
        stage="awaiting_location",
        first_message=text.text,
        offered_plan_id=plan.id if plan and home_address(plan) else None,
    )
    db.session.add(conversation)
    if text.switch:
        return conversation, ask_location(conversation)
    if text.carrier_word in keywords.INFO:
        return conversation, texts.line_info(language)
    if text.place:
        request = open_request(conversation, location=text.place, source="texted")
        return conversation, texts.request_sent(language, request.reference, first=True)
    conversation.place_unclear = not text.only_a_call_for_help
    return conversation, ask_location(conversation)


def continue_conversation(conversation: Conversation, text: Reading) -> str:
    switch = text.switch
    if conversation.stage == "awaiting_location":
        if switch:
            conversation.language = switch
            return ask_location(conversation)
        if text.carrier_word in keywords.INFO:
            return texts.line_info(conversation.language)
        return place_given(conversation, text)

    request = _request_of(conversation)
    if request is not None and request.status == "closed" and text.courtesy:
        return texts.thread_closed(conversation.language)  # "thank you" is no new request
    if request is None or request.status == "closed":
        # The request was closed (or deleted): this text starts a new one.
        db.session.delete(conversation)
        db.session.flush()
        return start_conversation(conversation.number, conversation.number_index, text)[1]
    if switch:
        conversation.language = request.language = switch
        return texts.update_forwarded(switch, request.reference)
    request.messages.append(RequestMessage(direction="in", body=text.text))
    if text.place and text.place != request.location:
        change_location(request, text.place, "texted")
        return texts.location_changed(conversation.language, request.reference)
    queue_update_alerts(request, text.text)
    return texts.update_forwarded(
        conversation.language, request.reference, acknowledged=request.status == "acknowledged"
    )


def place_given(conversation: Conversation, text: Reading) -> str:
    """The answer to "where is help needed?": a place opens the request; anything else
    is kept and the texter is asked once more, plainly."""
    plan = db.session.get(CrisisPlan, conversation.offered_plan_id) if conversation.offered_plan_id else None
    home = home_address(plan) if plan is not None else None
    if home and text.plan_home and plan is not None:
        opened = open_request(conversation, location=home, source="plan_home", message=text.text)
        # The plan's home address now reaches dispatch: the family reads it in its access log.
        audit.record(
            audit.PLAN_VIEW,
            actor_id=None,
            actor_name="CIT text line",
            plan_reference=plan.reference,
            reason=f"CIT request {opened.reference}: home address sent to 911 dispatch (texter replied 1)",
        )
        return texts.request_sent(conversation.language, opened.reference, first=False)
    if text.place:
        opened = open_request(conversation, location=text.place, source="texted", message=text.text)
        return texts.request_sent(conversation.language, opened.reference, first=False)
    conversation.held_messages = [*(conversation.held_messages or []), _held(text.text)]
    if not text.only_a_call_for_help:
        conversation.place_unclear = True
    if conversation.asked_again:
        return texts.still_need_place(conversation.language)
    conversation.asked_again = True
    return texts.need_place(conversation.language)


def ask_location(conversation: Conversation) -> str:
    return texts.ask_location(conversation.language, plan_offered=conversation.offered_plan_id is not None)


def _held(text: str) -> dict[str, str]:
    return {"at": utcnow().isoformat(), "body": text}


def home_address(plan: CrisisPlan) -> str | None:
    address = (plan.details.get("where") or {}).get("home_address")
    return address.strip() if isinstance(address, str) and address.strip() else None


def within_cap(conversation: Conversation, reply: str | None) -> str | None:
    """The reply cap guards against floods, never against a texter whose request is
    open: past the cap, their texts are answered together, at least once a minute."""
    if reply is None:
        return None
    now = utcnow()
    if ratelimit.allow(
        f"texter-replies:{conversation.number_index}", limit=REPLY_CAP, window_seconds=REPLY_WINDOW
    ):
        conversation.unanswered, conversation.last_reply_at = 0, now
        return reply
    request = _request_of(conversation)
    if request is None or request.status == "closed":
        return None  # a flood before any request: the cap holds
    conversation.unanswered = (conversation.unanswered or 0) + 1
    if conversation.last_reply_at is not None and now - conversation.last_reply_at < COMBINED_EVERY:
        return None  # answered together within the minute by answer_waiting_texters
    combined = texts.updates_combined(conversation.language, request.reference, conversation.unanswered)
    conversation.unanswered, conversation.last_reply_at = 0, now
    return combined


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
        location_source=source,
        plan_id=plan.id if plan else None,
        plan_reference=plan.reference if plan else None,
        plan_asks_for_cit=bool(plan and plan.cit_requested),
    )
    first = conversation.first_message or ""
    held = conversation.held_messages or []
    thread = [RequestMessage(direction="in", at=conversation.started_at, body=first)]
    thread += [
        RequestMessage(direction="in", at=datetime.fromisoformat(h["at"]), body=h["body"]) for h in held
    ]
    if message and message.strip():
        thread.append(RequestMessage(direction="in", body=message.strip()))
    request.messages = thread
    db.session.add(request)
    db.session.flush()
    conversation.stage = "request_open"
    conversation.cit_request_id = request.id
    conversation.held_messages = None
    queue_dispatch_alerts(request, plan)
    # What the texter wrote before the place reaches dispatch as updates, as later texts
    # do ("dispatch will see your texts"); the text that held the place is the alert.
    written_before = [first] if message or location is None else []
    written_before += [h["body"] for h in held]
    worth_reading = [text for text in written_before if not keywords.is_only_a_call_for_help(text)]
    if worth_reading:
        queue_update_alerts(request, " / ".join(worth_reading))
    return request


def forward_silent_texters() -> None:
    """Scheduled: a texter who gave no place within 2 minutes is still forwarded, as
    "location not given", or "unclear" when they wrote something that was not a place."""
    waiting = select(Conversation).where(
        Conversation.stage == "awaiting_location",
        Conversation.started_at < utcnow() - LOCATION_WAIT,
    )
    if db.engine.dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    for conversation in db.session.scalars(waiting).all():
        source = "unclear" if conversation.place_unclear else "none"
        request = open_request(conversation, location=None, source=source)
        queue_texter_text(request, texts.sent_without_location(conversation.language, request.reference))
    db.session.commit()


def answer_waiting_texters() -> None:
    """Scheduled: texters past the reply cap whose texts were not answered get one
    combined answer within the minute."""
    due = select(Conversation).where(
        Conversation.stage == "request_open",
        Conversation.unanswered > 0,
        Conversation.last_reply_at <= utcnow() - COMBINED_EVERY,
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    for conversation in db.session.scalars(due).all():
        request = _request_of(conversation)
        if request is not None and request.status != "closed":
            body = texts.updates_combined(conversation.language, request.reference, conversation.unanswered)
            queue_texter_text(request, body)
        conversation.unanswered, conversation.last_reply_at = 0, utcnow()
    db.session.commit()
