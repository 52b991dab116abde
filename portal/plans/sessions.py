"""Registrant sessions, kept on the server: the cookie holds only a random key.

Signing out, withdrawing the plan or 30 minutes without a page end the session for
every copy of the cookie; an edit draft lives only as long as the session that made it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from cryptography.fernet import InvalidToken
from flask import abort, redirect, session, url_for
from sqlalchemy import delete

from portal.crypto import vault
from portal.database import utcnow
from portal.extensions import db
from portal.plans.models import CrisisPlan, RegistrantSession

SESSION_KEY = "registrant"
SIGN_IN_LIFETIME = timedelta(minutes=30)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(plan: CrisisPlan) -> None:
    key = secrets.token_urlsafe(32)
    db.session.add(RegistrantSession(key_hash=_hash(key), plan_id=plan.id))
    db.session.commit()
    session[SESSION_KEY] = key


def signed_in_plan_id() -> int | None:
    """The plan of a live session (its 30 minutes start again), or None."""
    key = session.get(SESSION_KEY)
    row = db.session.get(RegistrantSession, _hash(key)) if isinstance(key, str) else None
    if row is not None and utcnow() - row.last_active_at > SIGN_IN_LIFETIME:
        db.session.delete(row)
        db.session.commit()
        row = None
    if row is None:
        session.pop(SESSION_KEY, None)
        return None
    row.last_active_at = utcnow()
    db.session.commit()
    return row.plan_id


def end() -> None:
    key = session.pop(SESSION_KEY, None)
    if isinstance(key, str):
        db.session.execute(delete(RegistrantSession).where(RegistrantSession.key_hash == _hash(key)))
        db.session.commit()


def signed_in_plan() -> CrisisPlan:
    """The signed-in registrant's plan, or a redirect to the sign-in page."""
    plan_id = signed_in_plan_id()
    if plan_id is None:
        abort(redirect(url_for("plans.sign_in")))
    return db.session.get_one(CrisisPlan, plan_id)


def keep_number(key: str, number: str) -> None:
    """A phone number for the next page (where a code went): encrypted, as the session
    cookie is only signed."""
    session[key] = vault().encrypt(number.encode()).decode()


def kept_number(key: str) -> str | None:
    token = session.get(key)
    try:
        return vault().decrypt(token.encode()).decode() if isinstance(token, str) else None
    except InvalidToken:
        return None
