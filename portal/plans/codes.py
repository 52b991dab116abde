"""One-time SMS codes: single use, valid 10 minutes; 5 wrong codes lock a phone for 10."""

from __future__ import annotations

import enum
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal import ratelimit
from portal.crypto import vault
from portal.database import utcnow
from portal.extensions import db
from portal.messaging.outbox import queue_message
from portal.phones import may_text, phone_index
from portal.plans.models import PhoneCode, PhoneLockout

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=10)
MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=10)


class CodeCheck(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"


def _hash(index: str, purpose: str, code: str) -> str:
    return vault().blind_index(f"code:{purpose}:{index}:{code}")


def send_code(number: str, purpose: str, message: str) -> None:
    """Queue a new code to `number` (E.164); `message` has a {code} slot. Not committed."""
    if not may_text(number, current_app.config["PORTAL_SETTINGS"].sms_countries):
        log.warning("refused to text a code to a number outside the agency's countries")
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    index = phone_index(number)
    db.session.add(PhoneCode(number_index=index, purpose=purpose, code_hash=_hash(index, purpose, code)))
    queue_message(
        to=number,
        body=message.format(code=code),
        sender="notices",
        purpose="phone_code",
        give_up_after=CODE_LIFETIME,
    )


def may_send_code(number: str, visitor: str | None) -> bool:
    """At most 10 codes an hour to one phone (a family verifies, asks again, signs in, files
    a second plan) and 20 an hour to one visitor (counts one)."""
    return ratelimit.allow(
        f"code-phone:{phone_index(number)}", limit=10, window_seconds=3600
    ) and ratelimit.allow(f"code-ip:{visitor}", limit=20, window_seconds=3600)


def is_locked(number: str) -> bool:
    lockout = db.session.get(PhoneLockout, phone_index(number))
    return bool(lockout and lockout.locked_until and lockout.locked_until > utcnow())


def _locked_lockout(index: str) -> PhoneLockout:
    """The phone's failure count, its row locked until the commit, so that guesses sent
    at once are counted one after the other (SQLite's BEGIN IMMEDIATE does that alone)."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(PhoneLockout).values(number_index=index, failures=0).on_conflict_do_nothing())
    return db.session.get_one(PhoneLockout, index, with_for_update=True, populate_existing=True)


def _code_waiting(index: str, purpose: str, now: datetime) -> bool:
    waiting = select(PhoneCode.id).where(
        PhoneCode.number_index == index,
        PhoneCode.purpose == purpose,
        PhoneCode.used_at.is_(None),
        PhoneCode.created_at > now - CODE_LIFETIME,
    )
    return db.session.scalar(waiting.limit(1)) is not None


def check_code(number: str, purpose: str, code: str) -> CodeCheck:
    """Check a code typed for `number`; a right code is used up. Commits."""
    index = phone_index(number)
    now = utcnow()
    lockout = _locked_lockout(index)
    if lockout.locked_until and lockout.locked_until > now:
        db.session.rollback()
        return CodeCheck.LOCKED
    match = db.session.scalar(
        select(PhoneCode).where(
            PhoneCode.number_index == index,
            PhoneCode.purpose == purpose,
            PhoneCode.code_hash == _hash(index, purpose, code.strip()),
            PhoneCode.used_at.is_(None),
            PhoneCode.created_at > now - CODE_LIFETIME,
        )
    )
    if match is not None:
        match.used_at = now
        lockout.failures = 0
        lockout.locked_until = None
        result = CodeCheck.ACCEPTED
    elif not _code_waiting(index, purpose, now):
        # No code was sent for this: a guess cannot succeed, so it does not count
        # (anyone could otherwise lock a family out of signing in).
        result = CodeCheck.WRONG
    else:
        lockout.failures += 1
        result = CodeCheck.WRONG
        if lockout.failures >= MAX_FAILURES:
            lockout.failures = 0
            lockout.locked_until = now + LOCK_TIME
            result = CodeCheck.LOCKED
    db.session.add(lockout)
    db.session.commit()
    return result


def explain(result: CodeCheck) -> str:
    """What to tell a person whose code was not accepted."""
    if result is CodeCheck.LOCKED:
        return str(_("Too many wrong codes. Wait 10 minutes, then ask for a new code."))
    return str(_("That code is not right. Check the text message and try again."))
