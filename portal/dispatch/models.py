"""CIT requests: what reaches dispatch, from the text line or typed in by a dispatcher."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.plans.models import REFERENCE_ALPHABET

# The outbox purposes of the texts that alert dispatch about a request: to the dispatch
# numbers, then to the fallback numbers when none of those took it.
ALERT_PURPOSES = ("dispatch_alert", "fallback_alert")


def new_request_reference() -> str:
    """R- and six letters or digits nobody confuses: R-7K3QM2."""
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class CitRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "cit_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(8), unique=True, default=new_request_reference)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(8))  # sms, voice
    # The texter's (or caller's) number: the callback number for dispatch.
    callback_number: Mapped[str | None] = mapped_column(EncryptedText)
    callback_index: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8))
    # As the texter gave it; None: not given.
    location: Mapped[str | None] = mapped_column(EncryptedText)
    location_source: Mapped[str] = mapped_column(String(12))  # texted, plan_home, none, console
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("crisis_plans.id", ondelete="SET NULL"), index=True
    )
    # Kept when the plan is deleted, like the audit trail.
    plan_reference: Mapped[str | None] = mapped_column(String(9))
    plan_asks_for_cit: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open, acknowledged, closed
    # When no dispatch number had accepted an alert in time: fallback numbers tried,
    # texter told to call 911.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Nobody acknowledged in time: alerts sent again and supervisors alerted.
    supervisors_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a dispatcher last opened the request's page: the texter's messages after it
    # are marked "new" in the queue (acknowledging from the queue's row opens nothing).
    dispatch_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(300))
    disposition: Mapped[str | None] = mapped_column(String(24))
    cad_number: Mapped[str | None] = mapped_column(String(40))
    # Where the person was taken or referred: one of agency.toml's facilities, or
    # portal.dispatch.handoffs.STAYED_HOME; reported in aggregate.
    referral: Mapped[str | None] = mapped_column(String(120))
    # Updates to the dispatch phones: when the last went, and texts since, held back by
    # the one-a-minute rule.
    last_update_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updates_waiting: Mapped[int] = mapped_column(Integer, default=0)

    messages: Mapped[list[RequestMessage]] = relationship(
        back_populates="cit_request", cascade="all, delete-orphan", order_by="RequestMessage.id"
    )


class RequestMessage(db.Model):  # type: ignore[name-defined,misc]
    """The thread of a request: what the texter sent and what they were sent."""

    __tablename__ = "request_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cit_request_id: Mapped[int] = mapped_column(ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    direction: Mapped[str] = mapped_column(String(4))  # in, out, note (by dispatch)
    author: Mapped[str | None] = mapped_column(String(300))  # for out and note
    body: Mapped[str] = mapped_column(EncryptedText)

    cit_request: Mapped[CitRequest] = relationship(back_populates="messages")


class OptOut(db.Model):  # type: ignore[name-defined,misc]
    """A texter who sent STOP (or another opt-out word): the line sends them nothing more."""

    __tablename__ = "texter_opt_outs"

    number_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
