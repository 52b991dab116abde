"""Crisis-plan look-up: by phone, plan code, or name and date of birth. Every view of a
plan needs a reason and is written to the audit trail, which the registrant can read."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal import audit
from portal.console import audit_action, bp, requires
from portal.console.forms import PLAN_REASONS, ButtonForm, LookupForm, ViewPlanForm, WithdrawPlanForm
from portal.console.officer_cards import card_form
from portal.database import utcnow
from portal.dispatch import family_texts, handoffs, plan_links, requests
from portal.extensions import db
from portal.i18n import in_language
from portal.plans.brief import brief, plan_marks
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
        else:  # the form has made sure there are both a name and a date of birth
            found = find_plans_by_name_and_birth(form.name.data, form.birth_date.data)
        audit_action(
            "plan.search",
            outcome=f"{len(found)} found",
        )
        db.session.commit()
    return render_template(
        "console/lookup.html",
        form=form,
        found=found,
        view_form=ViewPlanForm(formdata=None),
        plan_marks=plan_marks,
    )


LINKED = "request:"  # a choice naming a linked request: "request:R-7K3QM2"


def offer_reasons(form: ViewPlanForm, plan: CrisisPlan) -> None:
    """The reasons to choose from: an incoming 911 call, each request linked to the plan
    (open, or received in the last hours; or the one the request page names), a CIT
    officer en route, or another reason in words."""
    linked = requests.linked_requests(plan)
    posted = form.choice.data or ""
    if posted.startswith(LINKED) and posted.removeprefix(LINKED) not in {item.reference for item in linked}:
        named = requests.find(posted.removeprefix(LINKED))
        if named is not None and named.plan_id == plan.id:
            linked.append(named)
    form.choice.choices = [
        PLAN_REASONS[0],
        *(
            (LINKED + item.reference, _("The linked request %(reference)s", reference=item.reference))
            for item in linked
        ),
        *PLAN_REASONS[1:],
        ("other", _("Other reason")),
    ]


def reason_in_words(form: ViewPlanForm) -> tuple[str | None, str]:
    """The linked request's reference, if one was chosen, and the reason as the audit
    trail and the family's access log keep it: in words (in English, as the trail's
    other rows), never as a choice's code; words typed beside a choice are kept too."""
    choice = form.choice.data or "other"
    typed = form.reason.data or ""
    if choice == "other":
        return None, typed
    if choice.startswith(LINKED):
        linked: str | None = choice.removeprefix(LINKED)
        words = f"CIT request {linked}"
    else:
        linked, words = None, in_language("en", lambda: str(dict(PLAN_REASONS)[choice]))
    return linked, f"{words}: {typed}" if typed else words


@bp.post("/plans/<reference>")
@requires("dispatcher")
def view_plan(reference: str) -> ResponseReturnValue:
    plan = find_plan_by_reference(reference)
    if plan is None:
        abort(404)
    form = ViewPlanForm()
    offer_reasons(form, plan)
    if not form.validate_on_submit():
        # Sent nothing but the token (a button that only opens): asked, not refused.
        asked = not (form.csrf_token.errors or form.choice.raw_data or form.reason.raw_data)
        if asked:
            form.choice.errors, form.reason.errors = [], []
        return render_template("console/plan_reason.html", plan=plan, form=form), 200 if asked else 400
    linked, reason = reason_in_words(form)
    card_request = requests.find(linked) if linked else None
    family_texts.plan_opened(plan, viewer_kind="dispatcher", request=card_request)
    if card_request is not None and card_request.status == "closed":
        card_request = None
    audit_action(
        audit.PLAN_VIEW,
        plan_reference=plan.reference,
        request_reference=linked,
        reason=reason,
    )
    db.session.commit()
    return render_template(
        "console/plan.html",
        **brief(plan, utcnow()),
        reason=reason,
        withdraw_form=WithdrawPlanForm(formdata=None),
        card_form=card_form(formdata=None),
        card_request=card_request,
        referrals=handoffs.past_referrals(plan.id),
        live_cards=plan_links.live_links(plan=plan),
        button=ButtonForm(formdata=None),
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
