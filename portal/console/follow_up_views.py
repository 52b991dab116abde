"""Follow-ups for the peer-support partner: its own queue of people to call back after
a crisis (only with the consent recorded on their plan), the plan a click away
(recorded), and the outcome of each call."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.console import audit_action, bp, requires
from portal.console.forms import ButtonForm, FollowUpForm
from portal.console.handoff_views import open_plan_for_partner
from portal.database import utcnow
from portal.dispatch import follow_ups
from portal.dispatch.follow_ups import FollowUp
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.phones import for_display
from portal.plans.models import CrisisPlan


def own_follow_up(follow_up_id: int) -> FollowUp:
    """A follow-up given to the signed-in partner's organisation; any other is not found."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.partner_id != g.console_user.partner_id:
        abort(404)
    return follow_up


def render_follow_up(follow_up: FollowUp, form: FollowUpForm | None = None) -> str:
    item = follow_up.cit_request
    return render_template(
        "console/partner_follow_up.html",
        follow_up=follow_up,
        item=item,
        language=BY_CODE[item.language],
        callback=for_display(item.callback_number) if item.callback_number else None,
        form=form or FollowUpForm(formdata=None),
        button=ButtonForm(formdata=None),
        now=utcnow(),
    )


@bp.get("/partner/follow-ups/<int:follow_up_id>")
@requires("partner")
def partner_follow_up(follow_up_id: int) -> ResponseReturnValue:
    return render_follow_up(own_follow_up(follow_up_id))


@bp.post("/partner/follow-ups/<int:follow_up_id>/plan")
@requires("partner")
def follow_up_plan(follow_up_id: int) -> ResponseReturnValue:
    follow_up = own_follow_up(follow_up_id)
    item = follow_up.cit_request
    plan = db.session.get(CrisisPlan, item.plan_id) if item.plan_id else None
    if plan is None or not ButtonForm().validate_on_submit():
        abort(404)
    if follow_up.done_at is not None:  # the call is made: the plan is no longer the partner's to read
        abort(403)
    return open_plan_for_partner(
        plan,
        item,
        f"Follow-up {item.reference}",
        url_for("console.partner_follow_up", follow_up_id=follow_up.id),
    )


@bp.post("/partner/follow-ups/<int:follow_up_id>")
@requires("partner")
def record_follow_up(follow_up_id: int) -> ResponseReturnValue:
    follow_up = own_follow_up(follow_up_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        db.session.commit()
        return render_follow_up(follow_up, form), 400
    if follow_ups.record_follow_up(
        follow_up, outcome=form.outcome.data, note=form.note.data, by=g.console_user.display_name
    ):
        audit_action(
            "follow_up.record", request_reference=follow_up.cit_request.reference, reason=form.outcome.data
        )
        flash(_("Follow-up recorded."), "success")
    db.session.commit()
    return redirect(url_for("console.partner_queue"))
