"""The live queue and a request's page: acknowledge, notes, replies, close."""

from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.console import audit_action, bp, find_request, requires, thread_part
from portal.console.forms import (
    AcceptOutcomeForm,
    ButtonForm,
    CloseForm,
    ManualRequestForm,
    NoteForm,
    ReplyForm,
)
from portal.console.handoff_views import handoff_context
from portal.console.officer_cards import card_form
from portal.console.replaced import seat_token
from portal.database import utcnow
from portal.dispatch import display, eido, plan_links, requests, texts
from portal.dispatch import queue as dispatch_queue
from portal.dispatch.models import CitRequest
from portal.dispatch.requests import RequestClosed
from portal.extensions import db
from portal.i18n import BY_CODE, LANGUAGES, current_language, language_name
from portal.messaging.outbox import OutboundMessage
from portal.phones import InvalidPhone, for_display


def open_requests() -> list[CitRequest]:
    """Every request not closed, the unacknowledged first and oldest first."""
    return dispatch_queue.waiting_requests()


def alert_statuses(request_ids: list[int]) -> dict[int, list[OutboundMessage]]:
    """Each request's dispatch alerts, for their delivery status."""
    return dispatch_queue.alerts_sent(request_ids)


def queue_context() -> dict[str, object]:
    now = utcnow()
    rows = dispatch_queue.rows(now)
    not_acknowledged = [row for row in rows if row.request.status == "open"]
    overdue = sum(row.overdue for row in rows)
    return {
        "rows": rows,
        "waiting": len(not_acknowledged),
        "overdue": overdue,
        "summary": dispatch_queue.summary(len(rows), len(not_acknowledged), overdue),
        "title_prefix": dispatch_queue.title_prefix(len(not_acknowledged), overdue),
        # For the sound: a new request nobody has, or a texter's new text.
        "newest": max((row.request.id for row in not_acknowledged), default=0),
        "newest_text": max((row.unread_text or 0 for row in rows), default=0),
    }


@bp.get("/")
@requires("dispatcher")
def queue() -> ResponseReturnValue:
    return render_template("console/queue.html", seat=seat_token(g.console_user), **queue_context())


@bp.get("/queue/rows")
@requires("dispatcher")
def queue_rows() -> ResponseReturnValue:
    """The queue's rows alone, polled every 2 seconds by the page (htmx)."""
    return render_template("console/_queue_rows.html", **queue_context())


def reply_form(**options: object) -> ReplyForm:
    """The dispatcher's short texts, shown in the console's language (sent in the texter's)."""
    form = ReplyForm(**options)
    here = current_language().code
    form.template.choices = [(key, texts.dispatcher_reply(here, key)) for key in texts.DISPATCHER_REPLIES]
    return form


def render_request(
    item: CitRequest,
    *,
    note_form: NoteForm | None = None,
    close_form: CloseForm | None = None,
    accept_form: AcceptOutcomeForm | None = None,
) -> str:
    """The request's page; a refused form is shown again as it was sent, with its errors
    (the dispatcher never types a CAD number twice)."""
    return render_template(
        "console/request.html",
        item=item,
        texts_sent=requests.texts_sent(item),
        callback=for_display(item.callback_number) if item.callback_number else None,
        language=BY_CODE[item.language],
        button=ButtonForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None),
        reply_form=reply_form(formdata=None),
        close_form=close_form or CloseForm(formdata=None),
        status_words=display.STATUSES,
        disposition_words=display.disposition_words,
        purpose_words=display.purpose_words,
        delivery_words=display.delivery_words,
        phone=for_display,
        now=utcnow(),
        card_form=card_form(formdata=None),
        live_cards=plan_links.live_links(cit_request=item),
        thread_url=request_thread_url(item),
        **handoff_context(item, accept_form=accept_form),
    )


@bp.get("/requests/<reference>")
@requires("dispatcher")
def request_page(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    # htmx follows an acknowledge from the queue's row to this page: that opens nothing.
    if not request.headers.get("HX-Request"):
        requests.mark_opened(item)
        db.session.commit()
    return render_request(item)


@bp.get("/requests/<reference>/thread")
@requires("dispatcher")
def request_thread(reference: str) -> ResponseReturnValue:
    """The request's new messages, polled by its page: a texter's new text or a partner's
    note shows without a reload."""
    return thread_part(find_request(reference))


def request_thread_url(item: CitRequest) -> str | None:
    """Where the request page polls its messages from; nothing more comes once it is closed."""
    return url_for("console.request_thread", reference=item.reference) if item.status != "closed" else None


@bp.get("/requests/<reference>/eido")
@requires("dispatcher")
def request_eido(reference: str) -> ResponseReturnValue:
    """The request as an EIDO file, to hand to a CAD or a partner by hand."""
    item = find_request(reference)
    audit_action("request.eido", request_reference=item.reference, plan_reference=item.plan_reference)
    db.session.commit()
    response = jsonify(eido.document(item))
    response.headers["Content-Disposition"] = f'attachment; filename="{item.reference}-eido.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def changed(item: CitRequest, action: str, *, done: bool, anchor: str | None = None) -> ResponseReturnValue:
    """Back to the request's page; the audit trail records only what was really done."""
    if done:
        audit_action(action, request_reference=item.reference)
    db.session.commit()
    return redirect(url_for("console.request_page", reference=item.reference, _anchor=anchor))


@bp.post("/requests/<reference>/acknowledge")
@requires("dispatcher")
def acknowledge(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    done = ButtonForm().validate_on_submit() and requests.acknowledge(item, g.console_user.display_name)
    return changed(item, "request.acknowledge", done=done)


@bp.post("/requests/<reference>/note")
@requires("dispatcher")
def add_note(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = NoteForm()
    if form.validate_on_submit():
        done = requests.add_note(item, form.note.data, g.console_user.display_name)
    elif (form.note.data or "").strip():
        # Too long: shown again with every word, never dropped by a redirect.
        db.session.commit()
        return render_request(item, note_form=form), 400
    else:
        done = False
    if not done:
        flash(_("Write a note first."), "error")
    return changed(item, "request.note", done=done, anchor=None if done else "add-note")


@bp.post("/requests/<reference>/reply")
@requires("dispatcher")
def reply(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = reply_form()
    done = False
    if form.validate_on_submit():
        done = requests.reply(item, form.template.data, g.console_user.display_name)
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
    done = False
    if form.validate_on_submit():
        try:
            requests.close(
                item,
                disposition=form.disposition.data,
                cad_number=form.cad_number.data,
                tell_texter=form.text_texter.data == "yes",
                by=g.console_user.display_name,
            )
        except RequestClosed:
            flash(_("Request %(reference)s was already closed.", reference=item.reference), "error")
        else:
            done = True
            flash(_("Request %(reference)s is closed.", reference=item.reference), "success")
    else:
        errors = [
            str(error) for name, found in form.errors.items() if name != "csrf_token" for error in found
        ]
        flash(errors[0] if errors else _("The request could not be closed: try again."), "error")
        db.session.commit()
        return render_request(item, close_form=form), 400
    return changed(item, "request.close", done=done)


@bp.route("/requests/new", methods=["GET", "POST"])
@requires("dispatcher")
def new_request() -> ResponseReturnValue:
    """A request typed in for a 911 voice call, so every CIT request is counted here."""
    form = ManualRequestForm()
    form.language.choices = [(language.code, language_name(language.code)) for language in LANGUAGES]
    if form.validate_on_submit():
        try:
            item = requests.open_by_hand(
                location=form.location.data,
                callback=form.callback.data,
                language=form.language.data,
                note=form.note.data,
                by=g.console_user.display_name,
            )
        except InvalidPhone:
            form.callback.errors = [_("Enter a phone number like (314) 555-0100.")]
        else:
            return changed(item, "request.create", done=True)
    return render_template("console/new_request.html", form=form)
