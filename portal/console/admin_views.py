"""Supervisors read the audit trail; admins manage users. Both are audited."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import click
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from portal import audit
from portal.audit import AuditEvent, AuditFilter
from portal.console import audit_action, bp, requires
from portal.console.accounts import new_setup_link
from portal.console.forms import ButtonForm, NewUserForm, plausible_date
from portal.console.models import PARTNER, ROLES, ConsoleSession, ConsoleUser
from portal.dispatch import handoffs
from portal.dispatch.handoffs import Partner
from portal.extensions import db
from portal.links import public_link
from portal.times import agency_zone, local_days, local_iso, local_today

# What each audit action means, in words (the trail stores short codes).
ACTION_NAMES: dict[str, LazyString] = {
    "sign_in": _l("Sign-in"),
    "sign_in.second_factor": _l("Sign-in code (second step)"),
    "sign_out": _l("Sign-out"),
    "user.create": _l("Account created"),
    "user.setup_done": _l("Account set up"),
    "user.deactivate": _l("Account deactivated"),
    "user.reset_second_factor": _l("Account reset (new set-up link)"),
    "audit.read": _l("Audit trail read"),
    "audit.export": _l("Audit trail exported"),
    "plan.search": _l("Plan look-up"),
    audit.PLAN_VIEW: _l("Crisis plan opened"),
    "plan.withdraw": _l("Crisis plan withdrawn"),
    "request.create": _l("Request typed in (voice call)"),
    "request.acknowledge": _l("Request acknowledged"),
    "request.note": _l("Note added to a request"),
    "request.reply": _l("Text sent to the texter"),
    "request.close": _l("Request closed"),
    "request.hand_off": _l("Request handed to a partner"),
    "handoff.acknowledge": _l("Hand-off acknowledged by the partner"),
    "handoff.outcome": _l("Outcome sent by the partner"),
    "follow_up.record": _l("Follow-up recorded"),
    "request.eido": _l("Request exported (EIDO)"),
    "api.lookup": _l("911 look-up by caller number"),
    "api.additional_data": _l("Additional data fetched by a 911 system"),
    "api_client.create": _l("API client created"),
    "api_client.revoke": _l("API client revoked"),
    "plan_link.open": _l("Officer card or brief link opened"),
    "plan_link.send": _l("Officer card sent"),
    "plan_link.revoke": _l("Officer card withdrawn"),
    "responder.create": _l("Responder phone registered"),
    "responder.deactivate": _l("Responder phone removed"),
}
# Outcomes other than done, failed and "N found", in words.
OUTCOMES: dict[str, LazyString] = {
    "no plan": _l("No plan on file"),
    "wrong scope": _l("Refused: token of another scope"),
    "rate limited": _l("Refused: too many calls"),
    "no number": _l("Refused: no caller number"),
    "unknown link": _l("Refused: unknown link"),
    "expired": _l("Refused: link expired"),
    "revoked": _l("Refused: link withdrawn"),
    "closed": _l("Refused: request closed"),
    "claimed": _l("Refused: opened on a second device"),
}
# Who made a row that no console account made: fixed names, never what someone typed.
NO_ACCOUNT_ACTORS = {
    "CIT text line": "text line",
    "command line": "command line",
    "unknown account": "unknown",
}
AUDIT_PAGE_SIZE = 50


def action_in_words(action: str) -> str:
    return str(ACTION_NAMES.get(action, action))


def outcome_in_words(outcome: str) -> str:
    if outcome == "ok":
        return str(_("Done"))
    if outcome == "failed":
        return str(_("Failed"))
    found = re.fullmatch(r"(\d+) found", outcome)
    if found:
        return str(ngettext("%(num)d plan found", "%(num)d plans found", int(found.group(1))))
    return str(OUTCOMES.get(outcome, outcome))


def actor_role(event: AuditEvent) -> str:
    """The actor's role at the time (the row keeps "Dispatcher name@…"), without the name."""
    if event.actor_id is None:
        return NO_ACCOUNT_ACTORS.get(event.actor_name, "other")
    first = event.actor_name.split(" ", 1)[0].lower()
    return first if first in (*ROLES, PARTNER) else "other"


class AuditFilterForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False  # a search (GET) changes nothing

    start = DateField(_l("From (date)"), validators=[Optional(), plausible_date])
    end = DateField(_l("To (date)"), validators=[Optional(), plausible_date])
    person = SelectField(_l("Person"), choices=[], validate_choice=False)
    reference = StringField(_l("Request or plan reference"), validators=[Optional(), Length(max=20)])
    action = SelectField(_l("Action"), choices=[], validate_choice=False)

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The end date is before the start date."))


def audit_filter_form() -> tuple[AuditFilterForm, AuditFilter | None]:
    """The filters from the query string; None when they cannot be read."""
    form = AuditFilterForm(formdata=request.args)
    accounts = db.session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)).all()
    form.person.choices = [
        ("", _("Everyone")),
        ("none", _("No console account (text line, command line, unknown emails)")),
    ] + [(str(user.id), f"{user.email} ({user.role})") for user in accounts]
    actions = set(ACTION_NAMES) | set(audit.recorded_actions())
    in_words = sorted(((code, action_in_words(code)) for code in actions), key=lambda choice: choice[1])
    form.action.choices = [("", _("All actions")), *in_words]
    if not form.validate():
        return form, None
    start, end = local_days(form.start.data, form.end.data)
    person = form.person.data or ""
    # An account id as we make them; anything else typed into the URL ("²", thirty
    # nines) is an account nobody has.
    actor_id = None
    if person not in ("", "none"):
        actor_id = int(person) if person.isascii() and person.isdigit() and len(person) < 10 else -1
    return form, AuditFilter(
        start=start,
        end=end,
        actor_id=actor_id,
        no_account=person == "none",
        reference=(form.reference.data or "").strip() or None,
        action=form.action.data or None,
    )


@bp.get("/audit")
@requires("supervisor")
def audit_trail() -> ResponseReturnValue:
    form, wanted = audit_filter_form()
    # Past the last page shows the last page (a page of thirty nines would overflow OFFSET).
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    events: list[AuditEvent] = []
    total = 0
    if wanted is not None:
        total = audit.count(wanted)
        query = audit.search(wanted).limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)
        events = list(db.session.scalars(query))
    audit_action("audit.read")
    db.session.commit()
    # The filters as they were typed, for the page links and the export.
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "console/audit.html",
        form=form,
        events=events,
        total=total,
        first=(page - 1) * AUDIT_PAGE_SIZE + 1,
        page=page,
        pages=max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1),
        args=args,
        action_in_words=action_in_words,
        outcome_in_words=outcome_in_words,
        zone=agency_zone().key,
    )


CSV_COLUMNS = (
    "time_local",
    "action",
    "action_in_words",
    "outcome",
    "role",
    "account_number",
    "plan_reference",
    "request_reference",
)


@bp.get("/audit.csv")
@requires("supervisor")
def audit_export() -> ResponseReturnValue:
    """The filtered rows as CSV, without personal data: no names, emails, phone numbers
    or typed reasons; references, roles and account numbers only."""
    _form, wanted = audit_filter_form()
    if wanted is None:
        return redirect(url_for("console.audit_trail") + "?" + request.query_string.decode())
    audit_action("audit.export")
    db.session.commit()

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for event in db.session.scalars(audit.search(wanted).execution_options(yield_per=500)):
            writer.writerow(
                (
                    local_iso(event.at),
                    event.action,
                    action_in_words(event.action),
                    event.outcome,
                    actor_role(event),
                    event.actor_id or "",
                    event.plan_reference or "",
                    event.request_reference or "",
                )
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    name = f"audit-{local_today().isoformat()}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def create_user(email: str, role: str, partner: Partner | None = None) -> tuple[ConsoleUser, str]:
    """A new account and its one-time set-up link (not committed). A partner account
    belongs to one partner organisation."""
    if (role == PARTNER) != (partner is not None):
        raise ValueError("a partner account needs its partner, and only a partner account has one")
    user = ConsoleUser(email=email.strip().lower(), role=role, partner=partner)
    token = new_setup_link(user)
    db.session.add(user)
    return user, public_link("console.setup_link", token=token)


@bp.route("/users", methods=["GET", "POST"])
@requires("admin")
def users() -> ResponseReturnValue:
    form = NewUserForm()
    # The partners agency.toml names, registered on the way: the admin needs no step of
    # their own to "add" BHR before giving BHR's staff accounts.
    partners = handoffs.register_partners()
    db.session.commit()
    form.partner.choices = [(0, _("None (911 staff)")), *((partner.id, partner.name) for partner in partners)]
    link = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        partner = db.session.get(Partner, form.partner.data) if form.partner.data else None
        if db.session.scalar(select(func.count()).select_from(ConsoleUser).where(ConsoleUser.email == email)):
            form.email.errors = [_("There is already an account with this email.")]
        elif (form.role.data == PARTNER) != (partner is not None):
            form.partner.errors = [_("A partner account needs its partner; 911 staff have none.")]
        else:
            user, link = create_user(email, form.role.data, partner)
            db.session.flush()
            audit_action(
                "user.create",
                reason=user.email,
            )
            db.session.commit()
    accounts = db.session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)).all()
    return render_template("console/users.html", form=form, accounts=accounts, link=link, button=ButtonForm())


def account(user_id: int) -> ConsoleUser:
    user = db.session.get(ConsoleUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/deactivate")
@requires("admin")
def deactivate_user(user_id: int) -> ResponseReturnValue:
    user = account(user_id)
    if ButtonForm().validate_on_submit() and user.id != g.console_user.id:
        user.active = False
        db.session.execute(db.delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        audit_action(
            "user.deactivate",
            reason=user.email,
        )
        db.session.commit()
        flash(_("%(email)s can no longer sign in.", email=user.email), "success")
    return redirect(url_for("console.users"))


@bp.post("/users/<int:user_id>/reset-second-factor")
@requires("admin")
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    """A lost phone: the user enrols again through a new one-time link."""
    user = account(user_id)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("console.users"))
    token = new_setup_link(user)
    user.password_hash = None
    db.session.execute(db.delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    audit_action(
        "user.reset_second_factor",
        reason=user.email,
    )
    db.session.commit()
    flash(
        _(
            "Give %(email)s this one-time link: %(link)s",
            email=user.email,
            link=public_link("console.setup_link", token=token),
        ),
        "success",
    )
    return redirect(url_for("console.users"))


def init_app(app: Flask) -> None:
    users_cli = AppGroup("users", help="Console accounts.")

    @users_cli.command("create")
    @click.argument("email")
    @click.option("--role", type=click.Choice([*ROLES, PARTNER]), required=True)
    @click.option(
        "--partner", "partner_key", help="For --role partner: its key in agency.toml [[handoff_partners]]."
    )
    def create_command(email: str, role: str, partner_key: str | None) -> None:
        """Create a console account and print its one-time set-up link."""
        if db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email.strip().lower())):
            raise click.ClickException(f"there is already an account for {email}")
        handoffs.register_partners()
        partner = handoffs.find_partner(partner_key) if partner_key else None
        if (role == PARTNER) != (partner is not None):
            keys = ", ".join(item.key for item in current_app.extensions["agency"].handoff_partners)
            raise click.ClickException(
                f"--role partner goes with --partner KEY (one of: {keys}), and only with it"
            )
        user, link = create_user(email, role, partner)
        audit.record("user.create", actor_id=None, actor_name="command line", reason=user.email)
        db.session.commit()
        click.echo(f"Set-up link for {user.email} ({role}), valid 24 hours:\n{link}")

    app.cli.add_command(users_cli)
