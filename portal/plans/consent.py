"""The person's own say on a plan a family member filed for them.

The code texted to the person's phone proves the phone is theirs and signs them in; they
then see the plan and agree, ask for changes (a note for the filer, or edits of their
own) or have it deleted, and the filer is told by a text that holds nothing from the plan.
"""

from __future__ import annotations

import hashlib

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal import ratelimit
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import BY_CODE, localized_route
from portal.links import public_link
from portal.messaging.outbox import queue_message
from portal.phones import for_display, phone_index
from portal.plans import bp, drafts, sessions
from portal.plans.codes import CodeCheck, check_code, explain, is_locked, may_send_code, send_code
from portal.plans.display import plan_context
from portal.plans.forms import ButtonForm, CodeForm, PersonAnswerForm, PersonNewCodeForm, PersonPhoneForm
from portal.plans.models import CrisisPlan, PlanPhone
from portal.plans.services import decline_plan
from portal.plans.sessions import signed_in_plan

SESSION_PERSON = "registrant_is_person"  # the registrant session a confirm code started
SESSION_CONFIRM_PHONE = "confirm_phone"  # a number a new confirm code was asked for, encrypted
SESSION_ANSWER = "person_answer"  # what the person answered last, for the page after it
PERSON_ANSWERS = ("agree", "changes", "decline")


def send_person_confirmation(plan: CrisisPlan) -> None:
    """A family member filed for an adult: the person decides, with a code sent to their
    own phone (see person_confirmation_text). Not committed."""
    for phone in plan.phones:
        if phone.role in ("person", "pending"):
            send_code(phone.number, "confirm", person_confirmation_text(plan))


def person_confirmation_text(plan: CrisisPlan) -> str:
    """The first text to the person: gently, in the plan's language, who made what and
    why, and that they decide. Nothing from the plan (not even the name), as anyone may
    read a phone's screen; GSM-7 characters only, so that it fits in 2 segments."""
    with force_locale(BY_CODE[plan.language].catalogue):
        return str(
            # Translators: a text message (SMS): keep it as short as you can. It must keep
            # %(url)s and {code} exactly, and name nobody.
            _(
                "A family member made a crisis plan for you, so that if 911 is "
                "called for you, a crisis-trained (CIT) officer knows what helps you. You decide: "
                "see it, agree, ask for changes or delete it at %(url)s with code {code} (10 minutes).",
                url=public_link("plans.confirm", lang_code=plan.language),
            )
        )


def plans_for_person(number: str) -> list[CrisisPlan]:
    """The plans on which this phone is the person's own: those still waiting for their
    answer first, newest first."""
    plans = db.session.scalars(
        select(CrisisPlan)
        .join(PlanPhone)
        .where(PlanPhone.number_index == phone_index(number), PlanPhone.role.in_(("person", "pending")))
        .order_by(CrisisPlan.id.desc())
    ).all()
    return sorted(plans, key=lambda plan: plan.person_confirmed_at is not None)


def _session_mark() -> str | None:
    key = session.get(sessions.SESSION_KEY)
    return hashlib.sha256(key.encode()).hexdigest() if isinstance(key, str) else None


def sign_in_person(plan: CrisisPlan) -> None:
    """Sign in the person a plan is about, marked as the person: the mark is bound to this
    registrant session, so whoever signs in next on the same browser is not taken for them."""
    sessions.end()
    sessions.start(plan)
    session[SESSION_PERSON] = {"plan": plan.id, "mark": _session_mark()}


def mark_if_person(plan: CrisisPlan, number: str) -> None:
    """After an ordinary sign-in (already started): mark the registrant as the person when
    the phone that signed in is the person's own on this plan."""
    if any(phone.role == "person" and phone.number == number for phone in plan.phones):
        session[SESSION_PERSON] = {"plan": plan.id, "mark": _session_mark()}


def viewer_is_person(plan: CrisisPlan) -> bool:
    """Whether the signed-in registrant came in with the person's own confirm code."""
    marked = session.get(SESSION_PERSON)
    return (
        isinstance(marked, dict)
        and marked.get("plan") == plan.id
        and marked.get("mark") is not None
        and marked.get("mark") == _session_mark()
    )


def person_name(plan: CrisisPlan) -> str:
    person = plan.details.get("person", {})
    return str(person.get("preferred_name") or person.get("name") or _("the person"))


def add_person_phone_url() -> str:
    """Where the filer adds the person's phone: the phones section alone once that exists."""
    return url_for("plans.change", section="phones")


@bp.app_context_processor
def _person_consent_helpers() -> dict[str, object]:
    return {
        "viewer_is_person": viewer_is_person,
        "person_name": person_name,
        "add_person_phone_url": add_person_phone_url,
    }


def person_plan() -> CrisisPlan:
    """The signed-in plan, when the person themselves signed in; else back to step one."""
    plan = signed_in_plan()
    if not viewer_is_person(plan):
        abort(redirect(url_for("plans.confirm")))
    return plan


@localized_route(bp, "/crisis-plan/confirm/new-code", methods=["POST"])
def confirm_new_code() -> ResponseReturnValue:
    """The person's code ran out: a new one, with the same answer whether or not the
    number is on a plan, so that nobody learns from this page who has one."""
    form = PersonNewCodeForm(prefix="again")
    if form.validate() and not form.website.data:
        number = form.number.data
        if not may_send_code(number, request.remote_addr):
            form.number.errors = [_("Too many codes were asked for. Please try again in an hour.")]
        else:
            if plans_for_person(number) and not is_locked(number):
                send_code(
                    number,
                    "confirm",
                    _("Your code to see your crisis plan is {code}. It works for 10 minutes."),
                )
                db.session.commit()
            sessions.keep_number(SESSION_CONFIRM_PHONE, number)
            flash(
                _(
                    "If a crisis plan was made for this phone, we sent it a new code. It works for 10 minutes."
                ),
                "success",
            )
            return redirect(url_for("plans.confirm"))
    if form.number.raw_data:
        form.number.data = form.number.raw_data[0]
    return render_template(
        "plans/confirm.html",
        form=PersonPhoneForm(prefix="phone", formdata=None),
        code_form=CodeForm(prefix="confirm", formdata=None),
        again_form=form,
    )


@localized_route(bp, "/crisis-plan/confirm/plan", methods=["GET"])
def confirm_plan() -> ResponseReturnValue:
    """Step two: the person sees the plan made for them and answers it."""
    plan = person_plan()
    if plan.person_confirmed_at is not None:
        return redirect(url_for("plans.overview"))  # answered: the same question is not asked again
    return render_template(
        "plans/confirm_summary.html", plan=plan, form=PersonAnswerForm(), **plan_context(plan)
    )


@localized_route(bp, "/crisis-plan/confirm/answer", methods=["POST"])
def confirm_answer() -> ResponseReturnValue:
    plan = person_plan()
    form = PersonAnswerForm()
    answer = request.form.get("answer")
    if answer not in PERSON_ANSWERS:
        abort(400)
    if not form.validate():
        return render_template("plans/confirm_summary.html", plan=plan, form=form, **plan_context(plan))
    if answer == "decline":
        told = decline_plan(plan)  # its registrant sessions go with it
        db.session.commit()
        for key in (sessions.SESSION_KEY, SESSION_PERSON, drafts.SESSION_KEY):
            session.pop(key, None)
        session[SESSION_ANSWER] = "declined_told" if told else "declined"
        return redirect(url_for("plans.confirm_done"))
    if plan.person_confirmed_at is not None:
        return redirect(url_for("plans.overview"))
    if answer == "agree":
        plan.person_confirmed_at = utcnow()
        plan.person_note = None  # what they asked for is settled
        db.session.commit()
        flash(_("Thank you. You agreed with your crisis plan. Dispatch now sees that you agreed."), "success")
        return redirect(url_for("plans.overview"))
    note = (form.note.data or "").strip()
    if note:
        plan.person_note = note
        if ratelimit.allow(f"person-note:{plan.id}", limit=3, window_seconds=3600):
            tell_filers_about_note(plan)
        db.session.commit()
        flash(
            _(
                "Thank you. Your note is saved. The family member who made the plan sees it when they sign in."
            ),
            "success",
        )
    else:
        flash(
            _("Here is your plan. You can change any part of it yourself with its “Change” button."),
            "success",
        )
    return redirect(url_for("plans.overview"))


def tell_filers_about_note(plan: CrisisPlan) -> None:
    """A text to whoever filed: the person left a note. The note itself is only on the page."""
    with force_locale(BY_CODE[plan.language].catalogue):
        body = _(
            "The person crisis plan %(reference)s is about asked for "
            "changes. Sign in to read their note: %(url)s",
            reference=plan.reference,
            url=public_link("plans.sign_in", lang_code=plan.language),
        )
    for phone in plan.phones:
        if phone.role == "filer":
            queue_message(to=phone.number, body=body, sender="notices", purpose="person_note")


@localized_route(bp, "/crisis-plan/confirm/done", methods=["GET"])
def confirm_done() -> ResponseReturnValue:
    return render_template("plans/confirm_done.html", answer=session.get(SESSION_ANSWER))


@localized_route(bp, "/crisis-plan/confirm/send-again", methods=["POST"])
def send_confirmation_again() -> ResponseReturnValue:
    """The filer asks for the person's confirmation text again (the code ran out)."""
    plan = signed_in_plan()
    form = ButtonForm()
    if not form.validate_on_submit() or plan.person_confirmed_at is not None:
        return redirect(url_for("plans.overview"))
    numbers = [phone.number for phone in plan.phones if phone.role in ("person", "pending")]
    if not numbers:
        flash(_("Add the person’s phone first."), "error")
    elif all(may_send_code(number, request.remote_addr) for number in numbers):
        send_person_confirmation(plan)
        db.session.commit()
        flash(_("We sent the text again. Its code works for 10 minutes."), "success")
    else:
        flash(_("Too many codes were asked for. Please try again in an hour."), "error")
    return redirect(url_for("plans.overview"))


@localized_route(bp, "/crisis-plan/confirm", methods=["GET", "POST"])
def confirm() -> ResponseReturnValue:
    """The person a family member filed for, step one: the code sent to their phone proves
    the phone is theirs. It signs them in to the plan, which they then see and answer
    (confirm_plan). Nothing about the plan is shown before the code."""
    form = PersonPhoneForm(prefix="phone")
    code_form = CodeForm(prefix="confirm")
    again_form = PersonNewCodeForm(prefix="again")
    if request.method == "GET" and (asked := sessions.kept_number(SESSION_CONFIRM_PHONE)):
        form.number.data = again_form.number.data = for_display(asked)
    if request.method == "POST" and form.validate() and code_form.validate():
        number = form.number.data
        result = check_code(number, "confirm", code_form.code.data)
        plans = plans_for_person(number) if result is CodeCheck.ACCEPTED else []
        if plans:
            plan = plans[0]  # one still waiting for their answer first, then the newest
            for phone in plan.phones:
                if phone.role == "pending" and phone.number == number:
                    phone.role, phone.verified_at = "person", utcnow()  # the code proved it theirs
            db.session.commit()
            sign_in_person(plan)
            session.pop(SESSION_CONFIRM_PHONE, None)
            if plan.person_confirmed_at is not None:
                flash(_("You have already agreed with this plan."), "success")
                return redirect(url_for("plans.overview"))
            return redirect(url_for("plans.confirm_plan"))
        code_form.code.errors = [
            explain(result)
            if result is not CodeCheck.ACCEPTED
            else _("There is no crisis plan for this phone any more. It may have been deleted.")
        ]
    if form.number.raw_data:
        form.number.data = form.number.raw_data[0]  # shown as typed
    return render_template("plans/confirm.html", form=form, code_form=code_form, again_form=again_form)
