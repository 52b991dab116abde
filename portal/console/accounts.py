"""Console accounts: argon2id passwords, TOTP second factor, lockout, server sessions."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from portal.console.models import ConsoleSession, ConsoleUser, SignInFailures
from portal.crypto import vault
from portal.database import utcnow
from portal.extensions import db
from portal.settings import Settings

PASSWORD_MIN = 12
MAX_FAILURES = 5  # wrong passwords from one client, or wrong codes, before a lock
LOCK_TIME = timedelta(minutes=10)
# Wrong passwords for one account from every client together before the account itself
# is locked: guessing from many addresses is stopped, one guesser locks out only itself.
MAX_FAILURES_ALL_CLIENTS = 50
SETUP_LINK_LIFETIME = timedelta(hours=24)
ISSUER = "Call for the Pin console"
# argon2id with the library's current recommended costs; "test" keeps the test suite fast
# and is refused in production (PORTAL_PASSWORD_HASH_COST). It costs about a millisecond
# rather than 0.1 s: still long enough that the test comparing the check with and without
# an account measures argon2, not Python's few microseconds around it.
HASHERS = {
    "default": PasswordHasher(),
    "test": PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1),
}


def _cost() -> str:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    return settings.argon2_cost


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as bundled with zxcvbn."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < PASSWORD_MIN:
        return "short"
    if password.casefold() in common_passwords():
        return "common"
    return None


def set_password(user: ConsoleUser, password: str) -> None:
    user.password_hash = HASHERS[_cost()].hash(password)


@cache
def _no_account_hash(cost: str) -> str:
    """Checked against for an unknown e-mail, so that it takes as long as a known one
    (made on first use: hashing at import would slow every start). One per cost, as
    verifying takes the costs written in the hash."""
    return HASHERS[cost].hash(secrets.token_urlsafe(16))


def password_matches(user: ConsoleUser | None, password: str) -> bool:
    """Whether the password is the account's; as slow for no account as for one."""
    stored = user.password_hash if user is not None and user.password_hash else None
    cost = _cost()
    try:
        matched = HASHERS[cost].verify(stored or _no_account_hash(cost), password)
    except VerificationError:
        return False
    return matched and stored is not None


# A failed sign-in is answered no sooner than this after it began, whatever failed: an
# unknown email, a wrong password, a locked or deactivated account. The password check
# alone takes as long with or without an account (argon2id against a dummy hash), but
# counting a known account's failures adds database work, and timing would tell which
# emails have accounts. Half a second is well above the work itself (about 0.15 s).
FAILED_SIGN_IN_SECONDS = 0.5


def answer_failure_no_sooner(started: float) -> None:
    """Wait until FAILED_SIGN_IN_SECONDS have passed since `started` (time.monotonic())."""
    time.sleep(max(0.0, started + FAILED_SIGN_IN_SECONDS - time.monotonic()))


def _failures(user: ConsoleUser, client: str) -> SignInFailures:
    """The failure count of `user` from `client`, its row locked until the commit."""
    key = vault().blind_index(f"sign-in:{user.id}:{client}")
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(SignInFailures).values(key_hash=key, failures=0).on_conflict_do_nothing())
    return db.session.get_one(SignInFailures, key, with_for_update=True, populate_existing=True)


def client_locked_out(user: ConsoleUser, client: str) -> bool:
    """This client guessed wrong too often for this account (other clients may sign in)."""
    row = _failures(user, client)
    return bool(row.locked_until and row.locked_until > utcnow())


def record_password_failure(user: ConsoleUser, client: str) -> None:
    """A wrong password: counted for this client, and for all clients together."""
    for key, most in ((client, MAX_FAILURES), ("*", MAX_FAILURES_ALL_CLIENTS)):
        row = _failures(user, key)
        row.failures += 1
        if row.failures >= most:
            row.failures = 0
            row.locked_until = utcnow() + LOCK_TIME
            if key == "*":
                user.locked_until = row.locked_until


def forget_password_failures(user: ConsoleUser, client: str) -> None:
    _failures(user, client).failures = 0


def is_locked(user: ConsoleUser) -> bool:
    return bool(user.locked_until and user.locked_until > utcnow())


def lock_row(user: ConsoleUser) -> None:
    """Read the account again with its row locked until the commit, so that sign-ins
    at once count their failures and use a code one after the other (PostgreSQL; on
    SQLite every write transaction is serialized already)."""
    db.session.refresh(user, with_for_update=True)


def record_failure(user: ConsoleUser) -> None:
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= MAX_FAILURES:
        user.failed_sign_ins = 0
        user.locked_until = utcnow() + LOCK_TIME


def new_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: ConsoleUser) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=ISSUER)


def totp_accepts(user: ConsoleUser, code: str, secret: str | None = None) -> bool:
    """A current code (one step of clock drift allowed), never one already used."""
    totp = pyotp.TOTP(secret or user.totp_secret or "")
    code = code.strip().replace(" ", "")
    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        # As bytes: compare_digest refuses non-ASCII text (a TypeError, a 500) where it is just wrong.
        if secrets.compare_digest(totp.at(step * totp.interval).encode(), code.encode()):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # this code (or an older one) was used already
            user.totp_last_step = step
            return True
    return False


def new_setup_link(user: ConsoleUser) -> str:
    """A one-time set-up token for the user (password and second factor); returns it."""
    token = secrets.token_urlsafe(32)
    user.setup_token_hash = vault().blind_index("setup:" + token)
    user.setup_expires_at = utcnow() + SETUP_LINK_LIFETIME
    user.totp_secret = None
    user.totp_last_step = None
    return token


def exchange_setup_link(user: ConsoleUser) -> str:
    """A new set-up token, the link's one no longer valid; the link's deadline is kept."""
    token = secrets.token_urlsafe(32)
    user.setup_token_hash = vault().blind_index("setup:" + token)
    return token


def user_for_setup(token: str) -> ConsoleUser | None:
    user: ConsoleUser | None = db.session.scalar(
        select(ConsoleUser).where(ConsoleUser.setup_token_hash == vault().blind_index("setup:" + token))
    )
    if user is None or not user.active or not user.setup_expires_at or user.setup_expires_at < utcnow():
        return None
    return user


# Sessions -----------------------------------------------------------------------------


def _hash(session_id: str) -> str:
    return vault().blind_index("console-session:" + session_id)


def start_session(user: ConsoleUser, *, second_factor_done: bool) -> str:
    """A new session id (a new one at each step of signing in)."""
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    if second_factor_done and not settings.console_concurrent_sessions:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    session_id = secrets.token_urlsafe(32)
    db.session.add(
        ConsoleSession(id_hash=_hash(session_id), user_id=user.id, second_factor_done=second_factor_done)
    )
    return session_id


def end_session(session_id: str) -> None:
    db.session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(session_id)))


def session_user(session_id: str) -> ConsoleUser | None:
    """Whose session this is, live or not (for a timed-out queue's locked screen)."""
    record = db.session.get(ConsoleSession, _hash(session_id))
    return record.user if record is not None else None


def find_session(session_id: str) -> tuple[ConsoleSession | None, str | None]:
    """The live session for this id, or why there is none ("idle", "expired", None)."""
    record = db.session.get(ConsoleSession, _hash(session_id))
    if record is None or not record.user.active:
        return None, None
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    now = utcnow()
    if now - record.created_at > timedelta(hours=settings.console_absolute_hours):
        db.session.delete(record)
        return None, "expired"
    if now - record.last_active_at > timedelta(minutes=settings.console_idle_minutes):
        return None, "idle"
    return record, None
