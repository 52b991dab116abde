"""The registrant's side: sign in by SMS code, then view, edit, renew, print, withdraw,
and read who viewed the plan.

Only the filer's phone and the person's own phone can sign in; other linked phones are
for look-up only.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.audit import plan_views
from portal.extensions import db
from portal.i18n import BY_CODE, localized_route
from portal.phones import for_sentence
from portal.plans import bp, cards, drafts, sessions
from portal.plans.codes import CodeCheck, check_code, explain, is_locked, may_send_code, send_code
from portal.plans.consent import mark_if_person, viewer_is_person
from portal.plans.display import plan_context
from portal.plans.forms import ButtonForm, CodeForm, SignInForm
from portal.plans.models import CrisisPlan
from portal.plans.services import decline_plan, find_plans_by_phone, renew_plan, withdraw_plan
from portal.plans.sessions import signed_in_plan

# How the family's access log names who looked: a role, never a staff member's e-mail
# (the audit trail keeps the account; the family needs to know what kind of person).
FAMILY_NAMES = {
    "Dispatcher": _l("A 911 dispatcher"),
    "Supervisor": _l("A CIT supervisor"),
    "Admin": _l("A console administrator"),
    "Partner": _l("A crisis partner"),
    "CIT": _l("The CIT text line"),
}


def who_for_family(actor_name: str) -> str:
    """ "A 911 dispatcher (St. Louis County Police CIT program)"; a machine or a link's
    opener with the name it was given: "A 911 center's system (County CAD)"."""
    outside = audit.outside_reader_words(actor_name)
    if outside is not None:
        return outside
    role = actor_name.partition(" ")[0]
    staff = FAMILY_NAMES.get(role, _l("Program staff"))
    program = current_app.extensions["agency"].program_contact_name
    # Translators: who opened a plan, e.g. "A 911 dispatcher (St. Louis County Police CIT program)".
    return str(_("%(who)s (%(program)s)", who=staff, program=program))


def outcome_for_family(outcome: str) -> str:
    """Nothing for a read; why an attempt was refused, in words."""
    refusals = {
        "expired": _("Refused: the link had expired."),
        "closed": _("Refused: the request was closed."),
        "revoked": _("Refused: dispatch had withdrawn the link."),
        "claimed": _("Refused: the link was opened on a second device."),
    }
    return "" if outcome == "ok" else str(refusals.get(outcome, _("Refused.")))


SESSION_PHONE = "registrant_phone"  # the number a sign-in code was sent to, encrypted


def sign_in_registrant(plan: CrisisPlan) -> None:
    sessions.start(plan)


@localized_route(bp, "/crisis-plan/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if form.validate_on_submit() and not form.website.data:
        number = form.number.data
        if not may_send_code(number, request.remote_addr):
            form.number.errors = [_("Too many codes were asked for. Please try again in an hour.")]
        else:
            can_sign_in = any(
                phone.can_sign_in and phone.number == number
                for plan in find_plans_by_phone(number)
                for phone in plan.phones
            )
            # The same answer whether or not the number is on a plan, so that nobody
            # can use this page to learn who has one.
            if can_sign_in and not is_locked(number):
                send_code(
                    number,
                    "sign_in",
                    _("Your sign-in code is {code}. It works for 10 minutes."),
                )
                db.session.commit()
            sessions.keep_number(SESSION_PHONE, number)
            return redirect(url_for("plans.sign_in_code"))
    return render_template("plans/sign_in.html", form=form)


@localized_route(bp, "/crisis-plan/sign-in/code", methods=["GET", "POST"])
def sign_in_code() -> ResponseReturnValue:
    number = sessions.kept_number(SESSION_PHONE)
    if not number:
        return redirect(url_for("plans.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        result = check_code(number, "sign_in", form.code.data)
        if result is CodeCheck.ACCEPTED:
            plans = [
                plan
                for plan in find_plans_by_phone(number)
                if any(phone.can_sign_in and phone.number == number for phone in plan.phones)
            ]
            if plans:
                session.pop(SESSION_PHONE, None)
                # A phone on several plans signs in to the newest; the others are listed there.
                sign_in_registrant(plans[-1])
                mark_if_person(plans[-1], number)
                return redirect(url_for("plans.overview"))
        form.code.errors = [explain(result)]
    return render_template("plans/sign_in_code.html", form=form, display_number=for_sentence(number))


@localized_route(bp, "/crisis-plan/sign-out", methods=["POST"])
def sign_out() -> ResponseReturnValue:
    sessions.end()
    for key in (SESSION_PHONE, drafts.SESSION_KEY):
        session.pop(key, None)
    flash(_("You are signed out."), "success")
    return redirect(url_for("plans.sign_in"))


@localized_route(bp, "/crisis-plan/", methods=["GET"])
def overview() -> ResponseReturnValue:
    plan = signed_in_plan()
    return render_template("plans/overview.html", plan=plan, form=ButtonForm(), **plan_context(plan))


@localized_route(bp, "/crisis-plan/renew", methods=["POST"])
def renew() -> ResponseReturnValue:
    plan = signed_in_plan()
    renew_plan(plan)
    db.session.commit()
    flash(_("Thank you. The plan is confirmed for another 12 months."), "success")
    return redirect(url_for("plans.overview"))


@localized_route(bp, "/crisis-plan/print", methods=["GET"])
def print_plan() -> ResponseReturnValue:
    plan = signed_in_plan()
    return render_template("plans/print.html", plan=plan, **plan_context(plan))


@localized_route(bp, "/crisis-plan/card", methods=["GET"])
def card() -> ResponseReturnValue:
    plan = signed_in_plan()
    language = BY_CODE[plan.language]
    sms = cards.text_line_uri(language, plan.reference)  # None while the line has no number
    # The card is in the plan's language, whatever language the page is read in.
    with force_locale(language.catalogue):
        return render_template(
            "plans/card.html",
            plan=plan,
            card_language=language,
            say=cards.what_to_say(plan.reference, language),
            sms_uri=sms,
            qr=cards.qr_data_uri(sms) if sms else None,
        )


@localized_route(bp, "/crisis-plan/access-log", methods=["GET"])
def access_log() -> ResponseReturnValue:
    plan = signed_in_plan()
    return render_template(
        "plans/access_log.html",
        plan=plan,
        views=plan_views(plan.reference),
        who_for_family=who_for_family,
        outcome_for_family=outcome_for_family,
    )


@localized_route(bp, "/crisis-plan/withdraw", methods=["GET", "POST"])
def withdraw() -> ResponseReturnValue:
    plan = signed_in_plan()
    form = ButtonForm()
    if form.validate_on_submit():
        # Its registrant sessions go with it, every copy of the cookie too. The person a
        # family member filed for deleting it is a refusal: the filer is told.
        if plan.filed_by == "family" and viewer_is_person(plan):
            decline_plan(plan)
        else:
            withdraw_plan(plan)
        db.session.commit()
        for key in (sessions.SESSION_KEY, drafts.SESSION_KEY):
            session.pop(key, None)
        flash(_("The plan is deleted. Dispatch can no longer see it."), "success")
        return redirect(url_for("plans.start"))
    return render_template("plans/withdraw.html", plan=plan, form=form)
