"""Signing in (password, then a TOTP code), setting up an account, signing out."""

from __future__ import annotations

import io
import time

import qrcode
import qrcode.image.svg
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from portal import audit
from portal.console import COOKIE, audit_action, bp, requires
from portal.console.accounts import (
    answer_failure_no_sooner,
    client_locked_out,
    end_session,
    exchange_setup_link,
    find_session,
    forget_password_failures,
    is_locked,
    lock_row,
    new_secret,
    password_matches,
    password_problem,
    record_failure,
    record_password_failure,
    set_password,
    start_session,
    totp_accepts,
    totp_uri,
    user_for_setup,
)
from portal.console.forms import ButtonForm, SetPasswordForm, SignInForm, TotpForm
from portal.console.models import PARTNER, ConsoleUser
from portal.database import utcnow
from portal.extensions import db
from portal.settings import Settings


def with_session_cookie(response: Response, session_id: str) -> Response:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    response.set_cookie(
        COOKIE, session_id, path="/console", httponly=True, secure=settings.production, samesite="Strict"
    )
    return response


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    started = time.monotonic()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(ConsoleUser).where(func.lower(ConsoleUser.email) == email))
        client = request.remote_addr or "unknown"
        if user is not None:
            lock_row(user)
        locked = user is not None and (is_locked(user) or client_locked_out(user, client))
        # Checked even for no account or a locked one: every answer takes the same time.
        matches = password_matches(user, form.password.data)
        if user is not None and user.active and not locked and matches:
            forget_password_failures(user, client)
            user.failed_sign_ins = 0
            session_id = start_session(user, second_factor_done=False)
            db.session.commit()
            return with_session_cookie(redirect(url_for("console.second_factor")), session_id)
        if user is not None and not locked:
            record_password_failure(user, client)
        # Only a known account's name: what was typed may be a password put in the wrong box.
        audit.record(
            "sign_in",
            actor_id=user.id if user else None,
            actor_name=user.display_name if user else "unknown account",
            outcome="failed",
        )
        db.session.commit()
        answer_failure_no_sooner(started)  # as slow for an unknown email as for a known one
        # The same answer for a wrong email, a wrong password and a locked account.
        form.password.errors = [
            _("The email or password is wrong, or the account is locked for 10 minutes after 5 failed tries.")
        ]
    return render_template("console/sign_in.html", form=form, timed_out=request.args.get("timed_out"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
def second_factor() -> ResponseReturnValue:
    session_id = request.cookies.get(COOKIE, "")
    record, _why = find_session(session_id) if session_id else (None, None)
    if record is None:
        return redirect(url_for("console.sign_in"))
    user = record.user
    form = TotpForm()
    if form.validate_on_submit():
        lock_row(user)
        if not is_locked(user) and totp_accepts(user, form.code.data):
            end_session(session_id)
            # A new session id once fully signed in (no fixation of the first one).
            new_id = start_session(user, second_factor_done=True)
            audit.record("sign_in", actor_id=user.id, actor_name=user.display_name)
            db.session.commit()
            landing = "console.partner_queue" if user.role == PARTNER else "console.queue"
            return with_session_cookie(redirect(url_for(landing)), new_id)
        record_failure(user)
        audit.record(
            "sign_in.second_factor", actor_id=user.id, actor_name=user.display_name, outcome="failed"
        )
        db.session.commit()
        form.code.errors = [
            _("That code is not right, was used already, or the account is locked for 10 minutes.")
        ]
    return render_template("console/second_factor.html", form=form)


@bp.post("/sign-out")
@requires("dispatcher")
def sign_out() -> ResponseReturnValue:
    if ButtonForm().validate_on_submit():
        end_session(request.cookies.get(COOKIE, ""))
        audit_action("sign_out")
        db.session.commit()
    response = redirect(url_for("console.sign_in"))
    response.delete_cookie(COOKIE, path="/console")
    return response


SETUP_SESSION = "console_setup"  # the set-up key the link was exchanged for


@bp.get("/setup/<token>")
def setup_link(token: str) -> ResponseReturnValue:
    """The one-time set-up link, exchanged at once for a key in the browser's session:
    the link in access and proxy logs is dead from its first use."""
    user = user_for_setup(token)
    if user is None:
        return render_template("console/setup_expired.html"), 404
    session[SETUP_SESSION] = exchange_setup_link(user)
    db.session.commit()
    return redirect(url_for("console.setup"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    """Set-up: choose a password, then enrol the second factor."""
    token = session.get(SETUP_SESSION)
    user = user_for_setup(token) if isinstance(token, str) else None
    if user is None:
        return render_template("console/setup_expired.html"), 404
    if user.totp_secret is None:
        form = SetPasswordForm()
        if form.validate_on_submit():
            problem = password_problem(form.password.data)
            if problem == "short":
                form.password.errors = [_("Use at least 12 characters.")]
            elif problem == "common":
                form.password.errors = [_("This password is too common. Choose another one.")]
            else:
                set_password(user, form.password.data)
                user.totp_secret = new_secret()
                db.session.commit()
                return redirect(url_for("console.setup"))
        return render_template("console/setup_password.html", form=form, user=user)

    form = TotpForm()
    if form.validate_on_submit():
        lock_row(user)
        if totp_accepts(user, form.code.data):
            user.setup_token_hash = None
            user.setup_expires_at = None
            user.locked_until = None
            audit.record("user.setup_done", actor_id=user.id, actor_name=user.display_name)
            db.session.commit()
            session.pop(SETUP_SESSION, None)
            flash(_("Your account is ready. Sign in with your password and a code."), "success")
            return redirect(url_for("console.sign_in"))
        form.code.errors = [_("That code is not right. Check the time on your phone and try again.")]
    image = qrcode.make(totp_uri(user), image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = io.BytesIO()
    image.save(svg)
    # An SVG the qrcode library drew from our own URI: no user input reaches it.
    qr = Markup(svg.getvalue().decode().split("?>", 1)[-1])  # noqa: S704
    return render_template(
        "console/setup_totp.html", form=form, user=user, qr=qr, secret=user.totp_secret, now=utcnow()
    )
