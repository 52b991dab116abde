"""The text line's memory: each texter's conversation, and the deliveries seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedJSON, EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db


class InboundMessage(db.Model):  # type: ignore[name-defined,misc]
    """Each MessageSid seen, with the reply given: a repeated delivery gets the same reply."""

    __tablename__ = "inbound_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reply: Mapped[str | None] = mapped_column(EncryptedText)


class Conversation(db.Model):  # type: ignore[name-defined,misc]
    """Where a texter is in the conversation; forgotten after 30 minutes of silence."""

    __tablename__ = "texter_conversations"

    number_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8))
    # awaiting_location, then request_open
    stage: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The plan whose home address was offered ("reply 1"), never its address itself.
    offered_plan_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_plans.id", ondelete="SET NULL"))
    cit_request_id: Mapped[int | None] = mapped_column(ForeignKey("cit_requests.id", ondelete="SET NULL"))
    # What the texter wrote before giving a place, kept for the request's thread: the
    # first text, then the others ({"at": ISO time, "body": text}).
    first_message: Mapped[str | None] = mapped_column(EncryptedText)
    held_messages: Mapped[list[dict[str, str]] | None] = mapped_column(EncryptedJSON)
    # The texter wrote something that was not a place: "location unclear" for dispatch.
    place_unclear: Mapped[bool] = mapped_column(Boolean, default=False)
    # "We need a place" was said once; later texts get a shorter answer.
    asked_again: Mapped[bool] = mapped_column(Boolean, default=False)
    # Past the reply cap: texts not yet answered, answered together once a minute.
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    last_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
