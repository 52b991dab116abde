"""Follow-ups: after a CIT request closes, the peer-support partner calls the person back,
when the plan records their (or their family's) consent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.dispatch.handoffs import Partner
from portal.dispatch.models import CitRequest
from portal.extensions import db


class FollowUp(db.Model):  # type: ignore[name-defined,misc]
    """A call back to the person after a request closed, by the peer-support partner, when
    the plan records their (or their family's) consent to it."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cit_request_id: Mapped[int] = mapped_column(ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(String(24))  # reached, no_answer, declined
    note: Mapped[str | None] = mapped_column(EncryptedText)

    cit_request: Mapped[CitRequest] = relationship()
    partner: Mapped[Partner] = relationship()


def schedule_follow_up(request: CitRequest) -> FollowUp | None:
    """After a request closes: a follow-up for the peer-support partner, when the plan
    records consent to it. None otherwise."""
    return None
