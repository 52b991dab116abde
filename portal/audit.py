"""The audit trail: who did what, when, with what outcome; never plan contents.

Rows name a plan by its reference code only (no foreign key), so they outlive a
withdrawn or expired plan, and the registrant can read every view of their plan.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db

PLAN_VIEW = "plan.view"


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
    """Every view of one plan by console users, newest first: the plan's access log."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.plan_reference == reference, AuditEvent.action == PLAN_VIEW)
        .order_by(AuditEvent.at.desc())
    )
    return list(db.session.scalars(query))
