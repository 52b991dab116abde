"""Console accounts for tests, signed in through the real pages (password, then TOTP)."""

from __future__ import annotations

import re

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from portal.console.accounts import new_secret, set_password
from portal.console.models import ConsoleUser
from portal.extensions import db

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def make_user(app: Flask, email: str, role: str) -> str:
    """A ready account (password and second factor set); returns its TOTP secret."""
    with app.app_context():
        user = ConsoleUser(email=email, role=role)
        set_password(user, PASSWORD)
        user.totp_secret = new_secret()
        db.session.add(user)
        db.session.commit()
        return user.totp_secret


def csrf_token(client: FlaskClient, path: str = "/console/sign-in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(app: Flask, client: FlaskClient, email: str, secret: str, *, code: str | None = None):  # type: ignore[no-untyped-def]
    """Sign in; returns the response to the second step. The TOTP code is fresh unless given."""
    with app.app_context():
        user = db.session.query(ConsoleUser).filter_by(email=email).one()
        if code is None:
            user.totp_last_step = None  # each test sign-in may use the current code once
            db.session.commit()
    first = client.post(
        "/console/sign-in", data={"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    )
    assert first.status_code == 302 and first.headers["Location"].endswith("/console/sign-in/code"), (
        first.get_data(as_text=True)[:300]
    )
    return client.post(
        "/console/sign-in/code",
        data={
            "csrf_token": csrf_token(client, "/console/sign-in/code"),
            "code": code or pyotp.TOTP(secret).now(),
        },
    )


def signed_in_dispatcher(app: Flask, email: str = "dee@example.org") -> FlaskClient:
    """A test client signed in to the console as a dispatcher (password and code)."""
    client = app.test_client()
    secret = make_user(app, email, "dispatcher")
    assert sign_in(app, client, email, secret).status_code == 302
    return client


def typed_in_request(dispatcher: FlaskClient, callback: str, location: str = "4500 Lindell Blvd") -> str:
    """A 911 voice call typed in through the console's form; returns its reference. Its
    callback number finds the plan that phone is on."""
    token = csrf_token(dispatcher, "/console/requests/new")
    created = dispatcher.post(
        "/console/requests/new",
        data={"csrf_token": token, "location": location, "callback": callback, "language": "en"},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:300]
    return str(created.headers["Location"].rsplit("/", 1)[1])
