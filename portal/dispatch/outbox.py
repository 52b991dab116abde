"""The transactional outbox: every text message is a row first, then sent by a worker.

A message is queued in the same transaction as whatever caused it (a CIT request, a
sign-in code), so it is never lost; workers claim rows with a lease, so a worker that
dies mid-way leaves its rows to be claimed again once the lease runs out.

Duplicates: a worker killed after Twilio accepted a message but before the SID was
committed sends that message again when the lease runs out: at most one duplicate per
message per such crash.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.settings import Settings
from portal.sms.gateway import OPTED_OUT, SendError, SmsGateway

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # longer than a batch of sends with their 10 s timeouts
BATCH = 5
BACKOFF_CAP_SECONDS = 60.0
# Twilio's statuses in the order they happen; a late or repeated callback never moves
# a message backwards. failed and undelivered are final, like delivered.
STATUS_RANK = {
    "queued": 0,
    "accepted": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
}
# Who a message is sent as: the CIT text line, or the notices number (codes and
# reminders), so that a STOP to a reminder never blocks the CIT line.
SENDERS = ("line", "notices")


class OutboundMessage(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str] = mapped_column(String(8))
    to_number: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)
    # phone_code, plan_reminder, dispatch_alert, texter_reply, ...
    purpose: Mapped[str] = mapped_column(String(24))
    # Give up on a message nobody needs any more (an expired code); None: never give up.
    give_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The CIT request a dispatch alert, a fallback alert or a reply to the texter is about.
    cit_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True
    )


def queue_message(
    *,
    to: str,
    body: str,
    sender: str,
    purpose: str,
    give_up_after: timedelta | None = None,
    cit_request_id: int | None = None,
) -> OutboundMessage:
    """Add a message to the outbox in the caller's transaction (not committed here)."""
    if sender not in SENDERS:
        raise ValueError(sender)
    message = OutboundMessage(
        to_number=to,
        body=body,
        sender=sender,
        purpose=purpose,
        give_up_at=utcnow() + give_up_after if give_up_after else None,
        cit_request_id=cit_request_id,
    )
    db.session.add(message)
    return message


def claim_batch(now: datetime | None = None) -> list[int]:
    """Take a lease on up to BATCH due messages; no two workers get the same row."""
    now = now or utcnow()
    due = (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.status == "queued",
            OutboundMessage.next_attempt_at <= now,
            or_(OutboundMessage.lease_until.is_(None), OutboundMessage.lease_until < now),
        )
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(BATCH)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # On SQLite the transaction began with BEGIN IMMEDIATE: claims are serialized.
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(lease_until=now + LEASE)
        )
    db.session.commit()
    return ids


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped, so retries from many rows spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, 2.0**attempts)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 (not for secrets)


def from_number(settings: Settings, sender: str) -> str:
    number = settings.twilio_notices_from_number if sender == "notices" else settings.twilio_from_number
    return number or "+10000000000"  # the console backend needs no real number


def deliver(message_id: int, gateway: SmsGateway) -> None:
    """Send one claimed message and record the outcome."""
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    message = db.session.get(OutboundMessage, message_id)
    if message is None or message.status != "queued":
        db.session.rollback()
        return
    to, body, sender = message.to_number, message.body, message.sender
    db.session.rollback()  # hold no transaction (and on SQLite no lock) while sending

    status_callback = settings.public_url + "/sms/status" if settings.sms_backend == "twilio" else None
    now = utcnow()
    try:
        sid = gateway.send(
            to=to, from_=from_number(settings, sender), body=body, status_callback=status_callback
        )
    except SendError as error:
        message = db.session.get_one(OutboundMessage, message_id)
        message.attempts += 1
        message.error_code = error.code
        message.lease_until = None
        expired = message.give_up_at is not None and now >= message.give_up_at
        if error.retry and not expired:
            message.next_attempt_at = now + backoff(message.attempts)
            log.warning(
                "outbox: message %s (%s) not accepted, retrying: %s", message.id, message.purpose, error
            )
        else:
            message.status = "failed"
            level = (
                logging.ERROR
                if error.code == OPTED_OUT or message.purpose == "dispatch_alert"
                else logging.WARNING
            )
            log.log(level, "outbox: message %s (%s) failed for good: %s", message.id, message.purpose, error)
    else:
        message = db.session.get_one(OutboundMessage, message_id)
        message.attempts += 1
        message.status = "accepted"
        message.provider_sid = sid
        message.accepted_at = now
        message.lease_until = None
        message.error_code = None
    db.session.commit()


def deliver_due(gateway: SmsGateway) -> int:
    """One pass of the worker: claim due messages and send them. Returns how many."""
    ids = claim_batch()
    for message_id in ids:
        deliver(message_id, gateway)
    return len(ids)


def record_status(sid: str, status: str, error_code: int | None) -> bool:
    """A delivery-status callback from Twilio; moves only forward. False if unknown."""
    message = db.session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid))
    if message is None or status not in STATUS_RANK:
        return False
    if STATUS_RANK[status] > STATUS_RANK.get(message.status, 0):
        message.status = status
        if error_code:
            message.error_code = error_code
        if status in ("failed", "undelivered"):
            log.error("outbox: message %s (%s) %s, error %s", message.id, message.purpose, status, error_code)
    db.session.commit()
    return True
