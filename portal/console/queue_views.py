"""The live queue and a request's page: acknowledge, notes, replies, close."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from portal.console import audit_action, bp, requires
from portal.console.forms import DISPOSITIONS, ButtonForm, CloseForm, ManualRequestForm, NoteForm, ReplyForm
from portal.database import utcnow
from portal.dispatch import alerts, texts
from portal.dispatch.alerts import queue_texter_text
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.i18n import BY_CODE, LANGUAGES
from portal.messaging.outbox import OutboundMessage
from portal.phones import InvalidPhone, for_display, phone_index, to_e164


def open_requests() -> list[CitRequest]:
    query = (
        select(CitRequest).where(CitRequest.status != "closed").order_by(CitRequest.created_at, CitRequest.id)
    )
    return list(db.session.scalars(query))


def alert_statuses(request_ids: list[int]) -> dict[int, list[OutboundMessage]]:
    """Each request's dispatch alerts, for their delivery status."""
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


def queue_context() -> dict[str, object]:
    waiting = open_requests()
    return {
        "requests": waiting,
        "alerts": alert_statuses([item.id for item in waiting]),
        "opted_out": alerts.opted_out_requests(waiting),
        "now": utcnow(),
        "newest": max((item.id for item in waiting), default=0),
        "languages": BY_CODE,
    }


@bp.get("/")
@requires("dispatcher")
def queue() -> ResponseReturnValue:
    return render_template("console/queue.html", **queue_context())


@bp.get("/queue/rows")
@requires("dispatcher")
def queue_rows() -> ResponseReturnValue:
    """The queue's rows alone, polled every 2 seconds by the page (htmx)."""
    return render_template("console/_queue_rows.html", **queue_context())


def find_request(reference: str) -> CitRequest:
    found: CitRequest | None = db.session.scalar(select(CitRequest).where(CitRequest.reference == reference))
    if found is None:
        abort(404)
    return found


@bp.get("/requests/<reference>")
@requires("dispatcher")
def request_page(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    reply_form = ReplyForm()
    reply_form.template.choices = [
        (key, texts.dispatcher_reply("en", key)) for key in texts.DISPATCHER_REPLIES
    ]
    return render_template(
        "console/request.html",
        item=item,
        alerts=alert_statuses([item.id])[item.id],
        callback=for_display(item.callback_number) if item.callback_number else None,
        opted_out=alerts.texter_opted_out(item),
        language=BY_CODE[item.language],
        button=ButtonForm(),
        note_form=NoteForm(),
        reply_form=reply_form,
        close_form=CloseForm(),
        dispositions=dict(DISPOSITIONS),
        now=utcnow(),
    )


def changed(item: CitRequest, action: str, *, done: bool) -> ResponseReturnValue:
    """Back to the request's page; the audit trail records only what was really done."""
    if done:
        audit_action(action, request_reference=item.reference)
    db.session.commit()
    return redirect(url_for("console.request_page", reference=item.reference))


@bp.post("/requests/<reference>/acknowledge")
@requires("dispatcher")
def acknowledge(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    done = ButtonForm().validate_on_submit() and item.status == "open"
    if done:
        alerts.acknowledge(item, g.console_user.display_name)
    return changed(item, "request.acknowledge", done=done)


@bp.post("/requests/<reference>/note")
@requires("dispatcher")
def add_note(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = NoteForm()
    done = form.validate_on_submit()
    if done:
        item.messages.append(
            RequestMessage(direction="note", body=form.note.data, author=g.console_user.display_name)
        )
    else:
        flash(_("Write a note first."), "error")
    return changed(item, "request.note", done=done)


def text_texter(item: CitRequest, body: str) -> bool:
    """Text the texter (unless they opted out) and keep the text in the request's thread."""
    if not queue_texter_text(item, body):
        return False
    item.messages.append(RequestMessage(direction="out", body=body, author=g.console_user.display_name))
    return True


@bp.post("/requests/<reference>/reply")
@requires("dispatcher")
def reply(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = ReplyForm()
    form.template.choices = [(key, key) for key in texts.DISPATCHER_REPLIES]
    done = False
    if form.validate_on_submit():
        done = text_texter(item, texts.dispatcher_reply(item.language, form.template.data))
        if done:
            flash(_("The text is on its way."), "success")
        else:
            flash(_("This request has no texter to reply to, or the texter opted out."), "error")
    else:
        flash(_("Choose a text to send."), "error")
    return changed(item, "request.reply", done=done)


@bp.post("/requests/<reference>/close")
@requires("dispatcher")
def close(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = CloseForm()
    done = form.validate_on_submit() and item.status != "closed"
    if form.errors:
        flash(next(iter(form.errors.values()))[0], "error")  # the form's own, translated
    if done:
        item.status = "closed"
        item.closed_at = utcnow()
        item.closed_by = g.console_user.display_name
        item.disposition = form.disposition.data
        item.cad_number = (form.cad_number.data or "").strip() or None
        if item.acknowledged_at is None:
            item.acknowledged_at, item.acknowledged_by = item.closed_at, item.closed_by
        if form.text_texter.data == "yes":
            text_texter(item, texts.request_closed(item.language, item.reference))
        flash(_("Request %(reference)s is closed.", reference=item.reference), "success")
    return changed(item, "request.close", done=done)


@bp.route("/requests/new", methods=["GET", "POST"])
@requires("dispatcher")
def new_request() -> ResponseReturnValue:
    """A request typed in for a 911 voice call, so every CIT request is counted here."""
    form = ManualRequestForm()
    form.language.choices = [(language.code, language.english_name) for language in LANGUAGES]
    if form.validate_on_submit():
        callback = None
        if form.callback.data:
            try:
                callback = to_e164(form.callback.data)
            except InvalidPhone:
                form.callback.errors = [_("Enter a phone number like (314) 555-0100.")]
        if not form.callback.errors:
            item = CitRequest(
                source="voice",
                callback_number=callback,
                callback_index=phone_index(callback) if callback else None,
                language=form.language.data,
                location=form.location.data.strip(),
                location_source="console",
                status="acknowledged",
                acknowledged_at=utcnow(),
                acknowledged_by=g.console_user.display_name,
            )
            if form.note.data:
                item.messages = [
                    RequestMessage(direction="note", body=form.note.data, author=g.console_user.display_name)
                ]
            db.session.add(item)
            db.session.flush()
            return changed(item, "request.create", done=True)
    return render_template("console/new_request.html", form=form)
