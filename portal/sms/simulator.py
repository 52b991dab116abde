"""/dev/sms: an SMS simulator for development (404 in production and to other hosts).

A newcomer texts the CIT line as a texter would: each text goes through the same signed
webhook as Twilio's, and the page shows the replies and what the dispatch phones receive
(the console SMS backend's outbox).
"""

from __future__ import annotations

import secrets
from collections import defaultdict, deque
from xml.etree import ElementTree

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import InvalidPhone, to_e164
from portal.settings import Settings
from portal.sms.webhook import webhook_auth_token

bp = Blueprint("simulator", __name__, url_prefix="/dev/sms")

DEFAULT_TEXTER = "+13145550150"
# What each simulated phone sent and was answered, newest last (development only,
# one process: `flask run`).
THREADS: defaultdict[str, deque[tuple[str, str]]] = defaultdict(lambda: deque(maxlen=30))


@bp.before_request
def _loopback_only() -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    if settings.production or request.remote_addr not in ("127.0.0.1", "::1"):
        abort(404)


@bp.get("/")
def simulator() -> ResponseReturnValue:
    # The number stays in the session, not the URL: no phone numbers in URLs, even here.
    number = session.get("simulator_number", DEFAULT_TEXTER)
    sent = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(40)).all()
    return render_template("dev/sms.html", number=number, thread=list(THREADS[number]), sent=sent)


@bp.post("/")
def send() -> ResponseReturnValue:
    try:
        number = to_e164(request.form.get("number", ""))
    except InvalidPhone:
        return redirect(url_for("simulator.simulator"))
    body = request.form.get("body", "")
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    params = {
        "From": number,
        "To": settings.twilio_from_number or "+13145550100",
        "Body": body,
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.twilio_account_sid or "ACsimulator",
    }
    signature = RequestValidator(webhook_auth_token(settings)).compute_signature(
        settings.public_url + "/sms/inbound", params
    )
    response = current_app.test_client().post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}
    )
    reply = response.get_data(as_text=True)
    THREADS[number].append(
        (body, extract_reply(reply) if response.status_code == 200 else f"HTTP {response.status_code}")
    )
    session["simulator_number"] = number
    return redirect(url_for("simulator.simulator"))


def extract_reply(twiml: str) -> str:
    message = ElementTree.fromstring(twiml).find("Message")  # noqa: S314 (our own TwiML)
    return (message.text or "") if message is not None else "(no reply)"
