"""Follow-ups: after a CIT request closes, the peer-support partner calls the person back,
when the plan records their (or their family's) consent.

A follow-up is due PORTAL_FOLLOW_UP_DAYS days after the request closed (`due_at`), and
may be made any time up to the end of that day on the agency's clock (`deadline`); one
not made by then is missed (`missed`), even if it is made later. Like
portal.dispatch.requests, every function changes rows in the caller's transaction and
never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.dispatch.handoffs import Partner
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.plans.models import CrisisPlan
from portal.settings import Settings
from portal.times import local_day_start, to_local

# What the peer-support partner records after trying to call the person back.
FOLLOW_UP_OUTCOMES = ("reached", "no_answer", "declined")


class FollowUp(db.Model):  # type: ignore[name-defined,misc]
    """A call back to the person after a request closed, by the peer-support partner, when
    the plan records their (or their family's) consent to it."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One follow-up a request, even if two closes race (the database refuses a second).
    cit_request_id: Mapped[int] = mapped_column(
        ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True, unique=True
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(String(24))  # FOLLOW_UP_OUTCOMES
    note: Mapped[str | None] = mapped_column(EncryptedText)

    cit_request: Mapped[CitRequest] = relationship()
    partner: Mapped[Partner] = relationship()

    @property
    def deadline(self) -> datetime:
        return follow_up_deadline(self.due_at)

    def missed(self, now: datetime | None = None) -> bool:
        """Not made by the end of the day it was due (agency time), that day being over."""
        return is_missed(self.due_at, self.done_at, now or utcnow())


def follow_up_deadline(due_at: datetime) -> datetime:
    """The end of the agency's local day that `due_at` falls on (UTC): the next midnight."""
    return local_day_start(to_local(due_at).date() + timedelta(days=1))


def is_missed(due_at: datetime, done_at: datetime | None, now: datetime) -> bool:
    """Missed: the day it was due is over and it was not made by then (not at all, or later)."""
    deadline = follow_up_deadline(due_at)
    return now >= deadline and (done_at is None or done_at >= deadline)


def follow_up_partner() -> Partner | None:
    """The peer-support partner that takes follow-ups: the first active one by id."""
    query = select(Partner).where(Partner.active.is_(True), Partner.role == "follow_up").order_by(Partner.id)
    return db.session.scalars(query).first()


def request_follow_up(request: CitRequest) -> FollowUp | None:
    if request.id is None:
        return None
    return db.session.scalars(select(FollowUp).where(FollowUp.cit_request_id == request.id)).first()


def schedule_follow_up(request: CitRequest) -> FollowUp | None:
    """After a request closes: a follow-up for the peer-support partner, when the plan
    records consent to it and such a partner is registered; due PORTAL_FOLLOW_UP_DAYS days
    after the close. None otherwise, and never a second one for the same request."""
    if request.closed_at is None or request.plan_id is None:
        return None
    plan = db.session.get(CrisisPlan, request.plan_id)
    if plan is None or not plan.follow_up_consent:
        return None
    if request_follow_up(request) is not None:
        return None
    partner = follow_up_partner()
    if partner is None:
        return None
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    follow_up = FollowUp(
        cit_request=request,
        partner=partner,
        due_at=request.closed_at + timedelta(days=settings.follow_up_days),
    )
    db.session.add(follow_up)
    return follow_up


def record_follow_up(follow_up: FollowUp, *, outcome: str, note: str | None, by: str) -> bool:
    """The partner's call back, once: False if it was already recorded."""
    if outcome not in FOLLOW_UP_OUTCOMES:
        raise ValueError(f"unknown follow-up outcome {outcome!r}")
    if follow_up.done_at is not None:
        return False
    follow_up.done_at, follow_up.done_by = utcnow(), by
    follow_up.outcome = outcome
    follow_up.note = (note or "").strip() or None
    return True


def open_follow_ups(partner_id: int) -> list[FollowUp]:
    """A partner's follow-ups not yet made, the one due first at the top."""
    query = (
        select(FollowUp)
        .where(FollowUp.partner_id == partner_id, FollowUp.done_at.is_(None))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    return list(db.session.scalars(query))
