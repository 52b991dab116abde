"""Twilio's webhooks: inbound texts, delivery statuses, and the fallback URL.

Every request is checked against its X-Twilio-Signature (computed on PORTAL_PUBLIC_URL
and the path, as Twilio sees the URL behind a proxy) before anything is read or
written. The webhook answers TwiML at once and never calls Twilio itself: replies to
dispatch go through the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from portal.dispatch.texts import bounce_back
from portal.extensions import db
from portal.messaging.outbox import record_status
from portal.phones import InvalidPhone, to_e164
from portal.settings import Settings
from portal.sms.conversation import handle_text
from portal.sms.models import InboundMessage
from portal.sms.reading import Reading, read_text
from portal.text_language import language_of_script

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")


def webhook_auth_token(settings: Settings) -> str:
    """Twilio's auth token; in development without Twilio, one derived from the secret
    key, so that the SMS simulator signs its texts the same way Twilio does."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    return hmac.new(settings.secret_key.encode(), b"sms-simulator", hashlib.sha256).hexdigest()


def check_signature() -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    validator = RequestValidator(webhook_auth_token(settings))
    url = settings.public_url + request.path
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not validator.validate(url, request.form.to_dict(), signature):
        log.warning("refused a webhook call to %s with a missing or wrong signature", request.path)
        abort(403)


def twiml(text: str | None) -> Response:
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/inbound")
def inbound() -> ResponseReturnValue:
    check_signature()
    sid = request.form.get("MessageSid", "")
    body = request.form.get("Body", "")
    try:
        number = to_e164(request.form.get("From", ""))
    except InvalidPhone:
        log.warning("inbound text %s without a usable sender number", sid)
        return twiml(None)
    if not sid or len(sid) > 64:  # Twilio's SIDs are 34 characters
        abort(400)
    # Read before the write transaction begins: no text holds the database while read.
    text = read_text(body, current_app.extensions["agency"].streets)

    # One transaction per text: the text, the reply given and the dispatch alerts are
    # committed together or not at all (on SQLite it begins with BEGIN IMMEDIATE, so it
    # waits its turn behind another writer). Twilio hears 200 only after the commit.
    try:
        return _save_and_answer(sid, number, text)
    except SQLAlchemyError as error:
        # Locked past busy_timeout, read-only, gone: nothing of this text is saved, so
        # Twilio must not hear 200. A 5xx makes it use the fallback URL (call 911);
        # the same MessageSid delivered again later is saved then, once.
        db.session.rollback()
        cause = getattr(error, "orig", None) or error
        reason = (str(cause).splitlines() or [""])[0]
        # The class and first line only: the full error carries the SQL's parameters.
        log.error("inbound text %s not saved (%s: %s)", sid, type(cause).__name__, reason)
        return Response("the text was not saved\n", status=503, mimetype="text/plain")


def _save_and_answer(sid: str, number: str, text: Reading) -> ResponseReturnValue:
    # Two texts from one texter may arrive at once (a second sent before the first was
    # answered): the one that loses the race to start the conversation is taken again,
    # now as the conversation's next text. Nothing a texter writes is dropped.
    for _attempt in range(3):
        seen = db.session.get(InboundMessage, sid)
        if seen is not None:
            return twiml(seen.reply)  # a repeated delivery: same answer, nothing changes
        try:
            step = handle_text(number, text)
            db.session.add(InboundMessage(message_sid=sid, reply=step.reply))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        return twiml(step.reply)
    log.error("inbound text %s could not be stored after three tries", sid)
    abort(500)  # Twilio then tries the fallback URL, which tells the texter to call 911


@bp.post("/status")
def status() -> ResponseReturnValue:
    check_signature()
    error_code = request.form.get("ErrorCode", "")
    record_status(
        request.form.get("MessageSid", ""),
        request.form.get("MessageStatus", ""),
        # Twilio's error codes are five digits; anything else is no code, not a crash.
        int(error_code) if error_code.isascii() and error_code.isdigit() and len(error_code) <= 9 else None,
    )
    return Response(status=204)


@bp.post("/fallback")
def fallback() -> ResponseReturnValue:
    """Twilio's fallback URL, used when /sms/inbound fails: touches no database, so the
    texter hears something even when the database is down."""
    check_signature()
    log.error("Twilio used the fallback URL: the inbound webhook failed")
    return twiml(bounce_back(language_of_script(request.form.get("Body", "")) or "en"))
