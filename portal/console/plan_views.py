"""Crisis-plan look-up: by phone, plan code, or name and date of birth. Every view of a
plan needs a reason and is written to the audit trail, which the registrant can read."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal import audit
from portal.console import audit_action, bp, requires
from portal.console.forms import LookupForm, ViewPlanForm, WithdrawPlanForm
from portal.database import utcnow
from portal.extensions import db
from portal.phones import for_display
from portal.plans.display import plan_sections
from portal.plans.models import CrisisPlan
from portal.plans.services import (
    find_plan_by_reference,
    find_plans_by_name_and_birth,
    find_plans_by_phone,
    withdraw_plan,
)


@bp.route("/plans", methods=["GET", "POST"])
@requires("dispatcher")
def lookup() -> ResponseReturnValue:
    form = LookupForm()
    found: list[CrisisPlan] | None = None
    if form.validate_on_submit():
        if form.phone.data:
            found = find_plans_by_phone(form.phone.data)
        elif form.reference.data:
            plan = find_plan_by_reference(form.reference.data)
            found = [plan] if plan else []
        elif form.name.data and form.birth_date.data:
            found = find_plans_by_name_and_birth(form.name.data, form.birth_date.data)
        else:
            found = []
        audit_action(
            "plan.search",
            outcome=f"{len(found)} found",
        )
        db.session.commit()
    return render_template(
        "console/lookup.html", form=form, found=found, view_form=ViewPlanForm(formdata=None)
    )


@bp.post("/plans/<reference>")
@requires("dispatcher")
def view_plan(reference: str) -> ResponseReturnValue:
    plan = find_plan_by_reference(reference)
    if plan is None:
        abort(404)
    form = ViewPlanForm()
    if not form.validate_on_submit():
        return render_template("console/plan_reason.html", plan=plan, form=form), 400
    audit_action(
        audit.PLAN_VIEW,
        plan_reference=plan.reference,
        reason=form.reason.data.strip(),
    )
    db.session.commit()
    person = plan.details.get("person", {})
    return render_template(
        "console/plan.html",
        plan=plan,
        person=person,
        sections={section.slug: section for section in plan_sections(plan)},
        phones=[(for_display(phone.number), phone.role) for phone in plan.phones],
        reason=form.reason.data,
        now=utcnow(),
        withdraw_form=WithdrawPlanForm(formdata=None),
    )


@bp.post("/plans/<reference>/withdraw")
@requires("supervisor")
def withdraw(reference: str) -> ResponseReturnValue:
    """A family who lost every phone on their plan asks the program to withdraw it."""
    plan = find_plan_by_reference(reference)
    if plan is None:
        abort(404)
    form = WithdrawPlanForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for withdrawing the plan."), "error")
        return redirect(url_for("console.lookup"))
    withdraw_plan(plan)
    audit_action(
        "plan.withdraw",
        plan_reference=reference,
        reason=form.reason.data.strip(),
    )
    db.session.commit()
    flash(_("Plan %(reference)s is deleted.", reference=reference), "success")
    return redirect(url_for("console.lookup"))
