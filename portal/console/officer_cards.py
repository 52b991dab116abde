"""The officer card from the console: a dispatcher sends the plan's brief to a
responding officer registered by an admin, by text or as a QR code, and can withdraw it;
admins keep the list of responders' phones."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from portal.console import audit_action, bp, requires
from portal.console.forms import ButtonForm, OfficerCardForm, ResponderForm
from portal.dispatch import plan_links, requests
from portal.dispatch.plan_links import PlanLink, Responder
from portal.extensions import db
from portal.links import public_link
from portal.phones import for_display, phone_index
from portal.plans.cards import qr_data_uri
from portal.plans.services import find_plan_by_reference


def card_form(**options: object) -> OfficerCardForm:
    form = OfficerCardForm(**options)
    form.responder.choices = [(item.id, item.label) for item in plan_links.active_responders()]
    return form


@bp.post("/plans/<reference>/officer-card/<how>")
@requires("dispatcher")
def send_officer_card(reference: str, how: str) -> ResponseReturnValue:
    """`how` is "text" or "qr". A card for a request lives until the request closes."""
    plan = find_plan_by_reference(reference)
    if plan is None or how not in ("text", "qr"):
        abort(404)
    form = card_form()
    cit_request = requests.find(form.request_reference.data or "") if form.request_reference.data else None
    if cit_request is not None and cit_request.plan_id != plan.id:
        abort(404)
    back = (
        url_for("console.request_page", reference=cit_request.reference, _anchor="officer-card")
        if cit_request
        else url_for("console.lookup")
    )
    if not form.validate_on_submit():
        flash(_("Choose the responding officer or unit."), "error")
        return redirect(back)
    responder = db.session.get(Responder, form.responder.data)
    if responder is None or not responder.active:
        abort(404)
    if cit_request is not None and cit_request.status == "closed":
        flash(_("Request %(reference)s was already closed.", reference=cit_request.reference), "error")
        return redirect(back)
    link, token = plan_links.issue(
        plan,
        "officer_card",
        issued_to=responder.label,
        issued_by=g.console_user.display_name,
        cit_request=cit_request,
        responder=responder,
    )
    url = public_link("responders.brief", token=token)
    if how == "text":
        plan_links.text_card(link, url)
    db.session.flush()
    audit_action(
        "plan_link.send",
        plan_reference=plan.reference,
        request_reference=cit_request.reference if cit_request else None,
        reason=f"Officer card for {responder.label} ({'text' if how == 'text' else 'QR code'})",
    )
    db.session.commit()
    return render_template(
        "console/officer_card.html",
        link=link,
        how=how,
        qr=qr_data_uri(url) if how == "qr" else None,
        phone=for_display(responder.number),
        back=back,
        button=ButtonForm(formdata=None),
    )


@bp.post("/officer-cards/<int:link_id>/withdraw")
@requires("dispatcher")
def withdraw_officer_card(link_id: int) -> ResponseReturnValue:
    link = db.session.get(PlanLink, link_id)
    if link is None or link.purpose != "officer_card":
        abort(404)
    if ButtonForm().validate_on_submit() and plan_links.revoke(link, g.console_user.display_name):
        audit_action(
            "plan_link.revoke",
            plan_reference=link.plan.reference,
            request_reference=link.cit_request.reference if link.cit_request else None,
            reason=f"Officer card for {link.issued_to}",
        )
        flash(_("The card for %(whom)s no longer opens.", whom=link.issued_to), "success")
    db.session.commit()
    if link.cit_request is not None:
        return redirect(
            url_for("console.request_page", reference=link.cit_request.reference, _anchor="officer-card")
        )
    return redirect(url_for("console.lookup"))


@bp.route("/responders", methods=["GET", "POST"])
@requires("admin")
def responders() -> ResponseReturnValue:
    form = ResponderForm()
    status = 200
    if form.validate_on_submit():
        number = form.number.data  # E.164: the form's phone_number check wrote it so
        if plan_links.find_responder_by_number(number) is None:
            label = form.label.data.strip()
            db.session.add(Responder(label=label, number=number, number_index=phone_index(number)))
            audit_action("responder.create", reason=label)
            db.session.commit()
            flash(_("%(label)s can now be sent officer cards.", label=label), "success")
            return redirect(url_for("console.responders"))
        form.number.errors = [_("This phone is already registered.")]
    if form.is_submitted():
        status = 400
    listed = db.session.scalars(select(Responder).where(Responder.active.is_(True)).order_by(Responder.label))
    return render_template(
        "console/responders.html",
        form=form,
        responders=[(item, for_display(item.number)) for item in listed],
        button=ButtonForm(formdata=None),
    ), status


@bp.post("/responders/<int:responder_id>/remove")
@requires("admin")
def remove_responder(responder_id: int) -> ResponseReturnValue:
    responder = db.session.get(Responder, responder_id)
    if responder is None:
        abort(404)
    if ButtonForm().validate_on_submit() and responder.active:
        responder.active = False
        audit_action("responder.deactivate", reason=responder.label)
        flash(_("%(label)s is removed.", label=responder.label), "success")
    db.session.commit()
    return redirect(url_for("console.responders"))
