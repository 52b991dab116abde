"""The audit trail: who did what, when, with what outcome; never plan contents.

Rows name a plan by its reference code only (no foreign key), so they outlive a
withdrawn or expired plan, and the registrant can read every view of their plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, Select, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, rows_changed, utcnow
from portal.extensions import db

PLAN_VIEW = "plan.view"


# Every way a plan is read, each shown in the family's access log: a console view, a 911
# center's system looking up the caller's number or fetching the plan's additional data,
# an officer card or a call-taker's brief opened, a request exported with the plan.
def outside_reader_words(actor_name: str) -> str | None:
    """Who read through a machine or a link, in the reader's language ("A 911 center's
    system (County CAD)", "A responding officer (Unit 3142)"); None for anyone else.
    The family's access log and the console both name them so."""
    from flask_babel import gettext as _

    role, _space, name = actor_name.partition(" ")
    if role == "System":
        return str(_("A 911 center’s system (%(name)s)", name=name))
    if role == "Call-taker":
        return str(_("A 911 call-taker, through %(name)s", name=name))
    if role == "Officer":
        return str(_("A responding officer (%(name)s)", name=name))
    return None


PLAN_READS = (PLAN_VIEW, "api.lookup", "api.additional_data", "plan_link.open", "request.eido")
# Kept at least a year (issue 14). 400 days is longer than a plan lives between two
# confirmations with its grace period (365 + 30 days): a family reading its access log
# at renewal, or before the plan is deleted, sees every view since it last confirmed.
RETENTION = timedelta(days=400)


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The actor's name and role as they were at the time, kept if the account goes.
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    plan_reference: Mapped[str | None] = mapped_column(String(9), index=True)
    request_reference: Mapped[str | None] = mapped_column(String(8), index=True)
    # Free text typed by staff ("incoming 911 call") may name people: encrypted.
    reason: Mapped[str | None] = mapped_column(EncryptedText)


def record(action: str, *, actor_id: int | None, actor_name: str, **fields: object) -> AuditEvent:
    """Add an audit row in the caller's transaction."""
    event = AuditEvent(action=action, actor_id=actor_id, actor_name=actor_name, **fields)
    db.session.add(event)
    return event


def plan_views(reference: str) -> list[AuditEvent]:
    """Every read of one plan, and every refused attempt, newest first: the plan's
    access log."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.plan_reference == reference, AuditEvent.action.in_(PLAN_READS))
        .order_by(AuditEvent.at.desc())
    )
    return list(db.session.scalars(query))


def delete_old_events(now: datetime | None = None) -> int:
    """Scheduled: rows older than RETENTION are deleted; returns how many. One DELETE,
    so safe to run twice and from several workers at once."""
    cutoff = (now or utcnow()) - RETENTION
    deleted = rows_changed(db.session, delete(AuditEvent).where(AuditEvent.at < cutoff))
    db.session.commit()
    return deleted


# Searching the trail (supervisors) --------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Which rows a supervisor asked for; None means any."""

    start: datetime | None = None  # included
    end: datetime | None = None  # excluded
    actor_id: int | None = None
    no_account: bool = False  # rows no console account made (the text line, the command line)
    reference: str | None = None  # a request's or a plan's, as typed
    action: str | None = None


def normalize_reference(typed: str) -> str:
    """A request or plan reference as stored, however it was typed: "r 7k3qm2" is
    R-7K3QM2, "k7qm3xpa" is K7QM-3XPA."""
    code = re.sub(r"[\s-]", "", typed).upper()
    if re.fullmatch(r"R[A-Z0-9]{6}", code):
        return f"R-{code[1:]}"
    if re.fullmatch(r"[A-Z0-9]{8}", code):
        return f"{code[:4]}-{code[4:]}"
    return typed.strip().upper()


def search(wanted: AuditFilter) -> Select[AuditEvent]:
    """The matching rows, newest first."""
    query = select(AuditEvent)
    if wanted.start is not None:
        query = query.where(AuditEvent.at >= wanted.start)
    if wanted.end is not None:
        query = query.where(AuditEvent.at < wanted.end)
    if wanted.no_account:
        query = query.where(AuditEvent.actor_id.is_(None))
    elif wanted.actor_id is not None:
        query = query.where(AuditEvent.actor_id == wanted.actor_id)
    if wanted.reference:
        reference = normalize_reference(wanted.reference)
        query = query.where(
            or_(AuditEvent.plan_reference == reference, AuditEvent.request_reference == reference)
        )
    if wanted.action:
        query = query.where(AuditEvent.action == wanted.action)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def count(wanted: AuditFilter) -> int:
    counted = select(func.count()).select_from(search(wanted).order_by(None).subquery())
    return int(db.session.scalar(counted) or 0)


def recorded_actions() -> list[str]:
    """Every action the trail holds, for the action filter."""
    return list(db.session.scalars(select(AuditEvent.action).distinct()))
