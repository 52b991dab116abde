"""Plans expire 12 months after they were last confirmed: reminders 30 and 7 days before,
deletion 30 days after; drafts go after 7 days and used codes after a day.

Run by the worker; safe to run twice or from two workers at once.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select

from portal.database import utcnow
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.links import public_link
from portal.messaging.outbox import queue_message
from portal.plans.drafts import delete_expired_drafts
from portal.plans.models import PLAN_LIFETIME, CrisisPlan, PhoneCode
from portal.plans.services import withdraw_plan
from portal.times import local_date

# The nearer reminder first: a plan found 5 days before its end gets one text, not two.
REMINDER_DAYS = (7, 30)
GRACE = timedelta(days=30)


def send_reminders() -> None:
    now = utcnow()
    for days in REMINDER_DAYS:
        due = select(CrisisPlan).where(
            # expires within `days` days
            CrisisPlan.confirmed_at <= now + timedelta(days=days) - PLAN_LIFETIME,
            or_(CrisisPlan.reminder_sent.is_(None), CrisisPlan.reminder_sent > days),
        )
        if db.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        for plan in db.session.scalars(due):
            remind(plan)
            plan.reminder_sent = days
        db.session.commit()


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


def delete_ended_plans() -> None:
    ended = select(CrisisPlan).where(CrisisPlan.confirmed_at < utcnow() - PLAN_LIFETIME - GRACE)
    for plan in db.session.scalars(ended).all():
        withdraw_plan(plan)
    db.session.commit()


def delete_used_codes() -> None:
    db.session.execute(delete(PhoneCode).where(PhoneCode.created_at < utcnow() - timedelta(days=1)))
    db.session.commit()


def run() -> None:
    send_reminders()
    delete_ended_plans()
    delete_expired_drafts()
    delete_used_codes()
