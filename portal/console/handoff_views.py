"""Hand-offs in the console: a dispatcher hands a request to a partner and accepts the
partner's outcome; the partner's staff see only what was handed to their organisation,
acknowledge it, open its plan (recorded), add notes and record the outcome."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.console import audit_action, bp, find_request, polled_part, requires, thread_part
from portal.console.forms import AcceptOutcomeForm, ButtonForm, HandOffForm, NoteForm, PartnerOutcomeForm
from portal.console.models import ConsoleUser
from portal.database import utcnow
from portal.dispatch import alerts, display, family_texts, follow_ups, handoffs, requests
from portal.dispatch import queue as dispatch_queue
from portal.dispatch.handoffs import HandOff
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.phones import for_display
from portal.plans.brief import brief
from portal.plans.models import CrisisPlan

# Dispatcher's side ------------------------------------------------------------------


def handoff_form(**options: object) -> HandOffForm:
    """The partners taking hand-offs now, to choose from: on shift, and with someone to
    take them (an account set up), or the request would wait for nobody."""
    form = HandOffForm(**options)
    staffed = set(
        db.session.scalars(
            select(ConsoleUser.partner_id).where(
                ConsoleUser.partner_id.is_not(None),
                ConsoleUser.active.is_(True),
                ConsoleUser.password_hash.is_not(None),
                ConsoleUser.totp_secret.is_not(None),
            )
        )
    )
    form.partner.choices = [
        (partner.id, partner.name) for partner in handoffs.offered_partners() if partner.id in staffed
    ]
    return form


def handoff_context(item: CitRequest, *, accept_form: AcceptOutcomeForm | None = None) -> dict[str, object]:
    """What the request page's hand-off panel shows (polled every 2 seconds)."""
    # Prefixed: the request page's close form has fields of the same names, and a label
    # must tick its own form's radio button.
    accept_form = accept_form or AcceptOutcomeForm(formdata=None, prefix="accept")
    handoff = handoffs.current_handoff(item)
    form = handoff_form(formdata=None)
    # Handed to a partner once at a time: again only after the last one finished.
    offer_partners = item.status != "closed" and (handoff is None or handoff.state == "done")
    opted_out = alerts.texter_opted_out(item)
    # Everything the panel shows that can change while a dispatcher looks at it.
    version = "-".join(
        str(part)
        for part in (
            handoff.id if handoff else 0,
            handoff.state if handoff else "",
            handoff.acknowledged_at.isoformat() if handoff and handoff.acknowledged_at else "",
            item.status,
            opted_out,
            ".".join(str(choice) for choice, _name in form.partner.choices) if offer_partners else "",
        )
    )
    return {
        "handoff": handoff,
        "handoff_form": form,
        "offer_partners": offer_partners,
        "accept_form": accept_form,
        "opted_out": opted_out,  # the request page's other parts use it too
        "panel_version": version,
    }


@bp.post("/requests/<reference>/hand-off")
@requires("dispatcher")
def hand_off(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    form = handoff_form()
    if not form.validate_on_submit():
        flash(_("Choose a partner that is taking hand-offs now."), "error")
    else:
        partner = db.session.get(handoffs.Partner, form.partner.data)
        handed = handoffs.hand_off(item, partner, g.console_user.display_name) if partner else None
        if handed is None:
            flash(_("The request could not be handed off: it is closed or already with a partner."), "error")
        else:
            audit_action(
                "request.hand_off", request_reference=item.reference, reason=partner.name if partner else ""
            )
            flash(_("Handed to %(partner)s.", partner=partner.name if partner else ""), "success")
    db.session.commit()
    return redirect(url_for("console.request_page", reference=item.reference, _anchor="hand-off"))


@bp.get("/requests/<reference>/hand-off")
@requires("dispatcher")
def handoff_panel(reference: str) -> ResponseReturnValue:
    """The hand-off panel alone, polled by the request page: the partner's outcome shows
    within seconds, without the phone call back into 911."""
    item = find_request(reference)
    context = handoff_context(item)
    return polled_part(
        str(context["panel_version"]),
        lambda: render_template(
            "console/_handoff.html",
            item=item,
            disposition_words=display.disposition_words,
            polled=True,
            **context,
        ),
    )


@bp.post("/requests/<reference>/hand-off/accept")
@requires("dispatcher")
def accept_handoff(reference: str) -> ResponseReturnValue:
    item = find_request(reference)
    handoff = handoffs.current_handoff(item)
    form = AcceptOutcomeForm(prefix="accept")
    if handoff is None or handoff.state != "outcome":
        flash(_("There is no partner's outcome to accept."), "error")
        return redirect(url_for("console.request_page", reference=item.reference, _anchor="hand-off"))
    if not form.validate_on_submit():
        flash(
            form.cad_number.errors[0]
            if form.cad_number.errors
            else _("The request could not be closed: try again."),
            "error",
        )
        db.session.commit()
        # Imported here: queue_views builds the request page with this module's panel.
        from portal.console.queue_views import render_request

        return render_request(item, accept_form=form), 400
    done = handoffs.accept_outcome(
        handoff,
        cad_number=form.cad_number.data,
        tell_texter=form.text_texter.data == "yes",
        by=g.console_user.display_name,
    )
    if done:
        audit_action(
            "request.close", request_reference=item.reference, reason=f"Outcome of {handoff.partner.name}"
        )
        flash(_("Request %(reference)s is closed.", reference=item.reference), "success")
    db.session.commit()
    return redirect(url_for("console.request_page", reference=item.reference))


# Partner's side ---------------------------------------------------------------------


def own_handoff(handoff_id: int) -> HandOff:
    """A hand-off to the signed-in partner's organisation; any other is not found."""
    handoff = db.session.get(HandOff, handoff_id)
    if handoff is None or handoff.partner_id != g.console_user.partner_id:
        abort(404)
    return handoff


def partner_rows_context() -> dict[str, object]:
    partner_id = g.console_user.partner_id
    handed = handoffs.partner_handoffs(partner_id)
    waiting = [handoff for handoff in handed if handoff.state == "waiting"]
    return {
        "handed": handed,
        # As on the dispatchers' queue: the count in the tab's title, a sound when new.
        "waiting": len(waiting),
        "newest": max((handoff.id for handoff in waiting), default=0),
        "summary": dispatch_queue.summary(len(handed), len(waiting), 0)
        if handed
        else _("Nothing handed to you right now."),
        "title_prefix": dispatch_queue.title_prefix(len(waiting), 0),
        "follow_ups": follow_ups.open_follow_ups(partner_id),
        "now": utcnow(),
    }


@bp.get("/partner")
@requires("partner")
def partner_queue() -> ResponseReturnValue:
    return render_template("console/partner_queue.html", **partner_rows_context())


@bp.get("/partner/rows")
@requires("partner")
def partner_rows() -> ResponseReturnValue:
    return render_template("console/_partner_rows.html", **partner_rows_context())


def render_handoff(
    handoff: HandOff, *, outcome_form: PartnerOutcomeForm | None = None, note_form: NoteForm | None = None
) -> str:
    item = handoff.cit_request
    return render_template(
        "console/partner_handoff.html",
        handoff=handoff,
        item=item,
        language=BY_CODE[item.language],
        callback=for_display(item.callback_number) if item.callback_number else None,
        button=ButtonForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None),
        outcome_form=outcome_form or outcome_form_for(formdata=None),
        disposition_words=display.disposition_words,
        thread_url=partner_thread_url(handoff),
    )


def outcome_form_for(**options: object) -> PartnerOutcomeForm:
    form = PartnerOutcomeForm(prefix="outcome", **options)  # its note is not the note form's
    facilities = current_app.extensions["agency"].facilities
    form.referral.choices = [
        ("", _("Not taken or referred anywhere")),
        *((name, name) for name in facilities),
        (handoffs.STAYED_HOME, _("Stayed home with a safety plan")),
    ]
    return form


@bp.get("/partner/handoffs/<int:handoff_id>")
@requires("partner")
def partner_handoff(handoff_id: int) -> ResponseReturnValue:
    return render_handoff(own_handoff(handoff_id))


@bp.post("/partner/handoffs/<int:handoff_id>/acknowledge")
@requires("partner")
def partner_acknowledge(handoff_id: int) -> ResponseReturnValue:
    handoff = own_handoff(handoff_id)
    if ButtonForm().validate_on_submit() and handoffs.acknowledge(handoff, g.console_user.display_name):
        audit_action("handoff.acknowledge", request_reference=handoff.cit_request.reference)
    db.session.commit()
    return redirect(url_for("console.partner_handoff", handoff_id=handoff.id))


@bp.get("/partner/handoffs/<int:handoff_id>/thread")
@requires("partner")
def partner_thread(handoff_id: int) -> ResponseReturnValue:
    """The handed request's new messages, polled by the partner's page."""
    return thread_part(own_handoff(handoff_id).cit_request)


def partner_thread_url(handoff: HandOff) -> str | None:
    """Where the partner's page polls the messages from, while the hand-off is being worked."""
    return url_for("console.partner_thread", handoff_id=handoff.id) if handoff.state != "done" else None


@bp.post("/partner/handoffs/<int:handoff_id>/note")
@requires("partner")
def partner_note(handoff_id: int) -> ResponseReturnValue:
    handoff = own_handoff(handoff_id)
    form = NoteForm()
    if form.validate_on_submit() and requests.add_note(
        handoff.cit_request, form.note.data, g.console_user.display_name
    ):
        audit_action("request.note", request_reference=handoff.cit_request.reference)
    elif (form.note.data or "").strip():
        db.session.commit()
        return render_handoff(handoff, note_form=form), 400  # too long: shown again, whole
    db.session.commit()
    return redirect(url_for("console.partner_handoff", handoff_id=handoff.id))


@bp.post("/partner/handoffs/<int:handoff_id>/plan")
@requires("partner")
def partner_plan(handoff_id: int) -> ResponseReturnValue:
    """The plan linked to a handed-off request: recorded, with the hand-off as reason."""
    handoff = own_handoff(handoff_id)
    item = handoff.cit_request
    plan = db.session.get(CrisisPlan, item.plan_id) if item.plan_id else None
    if plan is None or not ButtonForm().validate_on_submit():
        abort(404)
    # The plan is the partner's to read while it works the hand-off, and for the hours a
    # closed request still counts as a reason (portal.dispatch.requests.LINKED_FOR).
    if handoff.accepted_at is not None and utcnow() - handoff.accepted_at > requests.LINKED_FOR:
        abort(403)
    return open_plan_for_partner(
        plan, item, f"Hand-off {item.reference}", url_for("console.partner_handoff", handoff_id=handoff.id)
    )


def open_plan_for_partner(plan: CrisisPlan, item: CitRequest, reason: str, back: str) -> str:
    """A partner reads the plan of a request it works: audited with the reason (which the
    family's access log shows), the family told if they chose it, past referrals shown."""
    audit_action(
        audit.PLAN_VIEW, plan_reference=plan.reference, request_reference=item.reference, reason=reason
    )
    family_texts.plan_opened(plan, viewer_kind="partner", request=item)
    db.session.commit()
    return render_template(
        "console/partner_plan.html",
        back=back,
        item=item,
        reason=reason,
        referrals=handoffs.past_referrals(plan.id),
        **brief(plan, utcnow()),
    )


@bp.post("/partner/handoffs/<int:handoff_id>/outcome")
@requires("partner")
def partner_outcome(handoff_id: int) -> ResponseReturnValue:
    handoff = own_handoff(handoff_id)
    form = outcome_form_for()
    if not form.validate_on_submit():
        db.session.commit()
        return render_handoff(handoff, outcome_form=form), 400
    done = handoffs.record_outcome(
        handoff,
        disposition=form.disposition.data,
        referral=form.referral.data,
        note=form.note.data,
        by=g.console_user.display_name,
    )
    if not done:
        # A colleague sent it first, or 911 closed the request: what was typed is kept,
        # in the note form, to add to the request's messages.
        flash(
            _(
                "The outcome was already sent, or 911 dispatch closed the request. What you wrote is in the note below."
            ),
            "error",
        )
        db.session.commit()
        return render_handoff(
            handoff, note_form=NoteForm(formdata=None, data={"note": form.note.data or ""})
        ), 409
    audit_action("handoff.outcome", request_reference=handoff.cit_request.reference)
    flash(_("Outcome sent to 911 dispatch."), "success")
    db.session.commit()
    return redirect(url_for("console.partner_handoff", handoff_id=handoff.id))
