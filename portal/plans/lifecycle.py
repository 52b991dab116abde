"""Plans expire 12 months after they were last confirmed: reminders 30 and 7 days before,
deletion 30 days after; drafts go after 7 days and used codes after a day.

Run by the worker (portal.jobs); safe to run twice or from several workers at once.
Each job takes `now` so that a test can move the clock, and returns how much it did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from portal.database import rows_changed, utcnow
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.links import public_link
from portal.messaging.outbox import queue_message
from portal.plans.models import PLAN_LIFETIME, CrisisPlan, PhoneCode
from portal.plans.services import withdraw_plan
from portal.times import local_date

# The nearer reminder first: a plan found 5 days before its end gets one text, not two.
REMINDER_DAYS = (7, 30)
GRACE = timedelta(days=30)


def send_reminders(now: datetime | None = None) -> int:
    """Scheduled: text the plan's phones 30 and 7 days before it ends; returns the plans reminded."""
    now = now or utcnow()
    reminded = 0
    for days in REMINDER_DAYS:
        due = (
            CrisisPlan.confirmed_at <= now + timedelta(days=days) - PLAN_LIFETIME,  # ends within `days`
            # ... and has not ended: a plan found after its end (a worker stopped for days)
            # is not told it "ends" on a day gone by; it is deleted after its grace.
            CrisisPlan.confirmed_at > now - PLAN_LIFETIME,
            or_(CrisisPlan.reminder_sent.is_(None), CrisisPlan.reminder_sent > days),
        )
        for plan_id in db.session.scalars(select(CrisisPlan.id).where(*due)).all():
            # Claim the reminder before queuing it: of two workers (or a renewal) at the
            # same plan, the UPDATE that still finds it due is the only one that texts.
            # PostgreSQL makes the second UPDATE wait for the first and check again.
            claim = update(CrisisPlan).where(CrisisPlan.id == plan_id, *due).values(reminder_sent=days)
            if rows_changed(db.session, claim.execution_options(synchronize_session=False)) == 1:
                # The claim's row lock keeps the plan until the commit.
                plan = db.session.get_one(CrisisPlan, plan_id, populate_existing=True)
                remind(plan)
                reminded += 1
            db.session.commit()
    return reminded


def remind(plan: CrisisPlan) -> None:
    with force_locale(BY_CODE[plan.language].catalogue):
        body = _(
            "Crisis plan %(reference)s ends on %(date)s. To keep it, sign in at %(url)s and confirm it.",
            reference=plan.reference,
            date=local_date(plan.expires_at),  # the agency's calendar, not UTC's
            url=public_link("plans.sign_in", lang_code=plan.language),
        )
    for phone in plan.phones:
        if phone.can_sign_in:
            queue_message(to=phone.number, body=body, sender="notices", purpose="plan_reminder")


def delete_ended_plans(now: datetime | None = None) -> int:
    """Scheduled: plans not confirmed again within their grace period are deleted, as a
    withdrawal deletes them; returns how many."""
    ended = CrisisPlan.confirmed_at < (now or utcnow()) - PLAN_LIFETIME - GRACE
    deleted = 0
    for plan_id in db.session.scalars(select(CrisisPlan.id).where(ended)).all():
        # One plan a transaction, locked (PostgreSQL; SQLite writes one at a time): a
        # second worker skips it, then finds it gone, instead of deleting it twice.
        locked = select(CrisisPlan).where(CrisisPlan.id == plan_id, ended).with_for_update(skip_locked=True)
        plan = db.session.scalars(locked).first()
        if plan is not None:
            withdraw_plan(plan)
            deleted += 1
        db.session.commit()
    return deleted


def delete_used_codes(now: datetime | None = None) -> int:
    """Scheduled: one-time codes are kept a day (for the lock-out count), then deleted."""
    old = PhoneCode.created_at < (now or utcnow()) - timedelta(days=1)
    deleted = rows_changed(db.session, delete(PhoneCode).where(old))
    db.session.commit()
    return deleted
