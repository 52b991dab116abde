"""Supervisors read the audit trail; admins manage users. Both are audited."""

from __future__ import annotations

import click
from flask import Flask, abort, flash, g, redirect, render_template, url_for
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import audit
from portal.audit import AuditEvent
from portal.console import audit_action, bp, requires
from portal.console.accounts import new_setup_link
from portal.console.forms import AuditSearchForm, ButtonForm, NewUserForm
from portal.console.models import ConsoleSession, ConsoleUser
from portal.extensions import db
from portal.links import public_link


@bp.get("/audit")
@requires("supervisor")
def audit_trail() -> ResponseReturnValue:
    form = AuditSearchForm(meta={"csrf": False})
    form.validate()
    query = select(AuditEvent).order_by(AuditEvent.at.desc()).limit(200)
    if form.actor.data:
        query = query.where(AuditEvent.actor_name.contains(form.actor.data.strip()))
    if form.action.data:
        query = query.where(AuditEvent.action.startswith(form.action.data.strip()))
    if form.plan_reference.data:
        query = query.where(AuditEvent.plan_reference == form.plan_reference.data.strip().upper())
    events = list(db.session.scalars(query))
    audit_action("audit.read")
    db.session.commit()
    return render_template("console/audit.html", form=form, events=events)


def create_user(email: str, role: str) -> tuple[ConsoleUser, str]:
    """A new account and its one-time set-up link (not committed)."""
    user = ConsoleUser(email=email.strip().lower(), role=role)
    token = new_setup_link(user)
    db.session.add(user)
    return user, public_link("console.setup_link", token=token)


@bp.route("/users", methods=["GET", "POST"])
@requires("admin")
def users() -> ResponseReturnValue:
    form = NewUserForm()
    link = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.scalar(select(func.count()).select_from(ConsoleUser).where(ConsoleUser.email == email)):
            form.email.errors = [_("There is already an account with this email.")]
        else:
            user, link = create_user(email, form.role.data)
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
    @click.option("--role", type=click.Choice(["dispatcher", "supervisor", "admin"]), required=True)
    def create_command(email: str, role: str) -> None:
        """Create a console account and print its one-time set-up link."""
        if db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email.strip().lower())):
            raise click.ClickException(f"there is already an account for {email}")
        user, link = create_user(email, role)
        audit.record("user.create", actor_id=None, actor_name="command line", reason=user.email)
        db.session.commit()
        click.echo(f"Set-up link for {user.email} ({role}), valid 24 hours:\n{link}")

    app.cli.add_command(users_cli)
