"""The transactional outbox: every text message is a row first, then sent by a worker.

A message is queued in the same transaction as whatever caused it (a CIT request, a
sign-in code), so it is never lost; workers claim rows with a lease, so a worker that
dies mid-way leaves its rows to be claimed again once the lease runs out.

A worker sends the messages it claimed at once (SEND_AT_ONCE HTTP calls to Twilio in
threads), except that messages to one recipient about one request go one after the
other, in the order they were queued; the database is written in the worker's own
thread only.

Duplicates: a worker killed after Twilio accepted a message but before the SID was
committed sends that message again when the lease runs out: at most one duplicate per
message per such crash. The lease must outlast a wait for the database (on SQLite up to
its busy timeout, 5 seconds) and a send: a living worker whose lease ran out while it
waited for the write lock has its messages claimed and sent again by another.
"""

from __future__ import annotations

import logging
import queue
import random
import time
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.messaging import wakeup
from portal.messaging.gateway import OPTED_OUT, SendError, SmsGateway
from portal.settings import Settings

log = logging.getLogger(__name__)

# Messages one worker sends at once: each is an HTTP call that mostly waits on Twilio.
SEND_AT_ONCE = 8
BATCH = 2 * SEND_AT_ONCE
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
FINAL = ("delivered", "undelivered", "failed")
# A message whose status is not final this long after Twilio accepted it is looked up
# through the API: a lost status callback must not leave it unconfirmed forever. Looked
# up again at the same interval, for a day.
LOOK_UP_AFTER = timedelta(minutes=5)
LOOK_UP_FOR = timedelta(days=1)
LOOK_UP_BATCH = 20

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
    # When its status was last looked up through the API (a status callback was lost).
    status_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    if sender == "notices":
        # Codes and reminders say who they are from by the campaign's English name, in
        # every language; translated, the "pin" read as "PIN code" in front of a code.
        body = f"{current_app.extensions['agency'].campaign_name}: {body}"
    message = OutboundMessage(
        to_number=to,
        body=body,
        sender=sender,
        purpose=purpose,
        give_up_at=utcnow() + give_up_after if give_up_after else None,
        cit_request_id=cit_request_id,
    )
    db.session.add(message)
    wakeup.announce()
    return message


class EarlyStatus(db.Model):  # type: ignore[name-defined,misc]
    """A status callback that came before the worker had stored the message's SID
    (Twilio may call back before its answer to the send arrives); applied then."""

    __tablename__ = "early_statuses"

    provider_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Claimed:
    """A message a worker holds the lease on, read once (decrypted) at claim time."""

    id: int
    to: str
    body: str
    sender: str
    purpose: str
    attempts: int
    give_up_at: datetime | None
    cit_request_id: int | None


def claim_batch(now: datetime | None = None) -> list[Claimed]:
    """Take a lease on up to BATCH due messages; no two workers get the same row."""
    # On SQLite the transaction begins with BEGIN IMMEDIATE, which waits for the write
    # lock: begun first, so that the lease counts from when this worker has the database,
    # not from before a wait that could use up most of it.
    db.session.connection()
    now = now or utcnow()
    due = (
        select(OutboundMessage)
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
    lease = timedelta(seconds=current_app.config["PORTAL_SETTINGS"].outbox_lease)
    claimed = []
    for message in db.session.scalars(due):
        message.lease_until = now + lease
        claimed.append(
            Claimed(
                message.id,
                message.to_number,
                message.body,
                message.sender,
                message.purpose,
                message.attempts,
                message.give_up_at,
                message.cit_request_id,
            )
        )
    db.session.commit()
    return claimed


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped, so retries from many rows spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, 2.0**attempts)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 (not for secrets)


def from_number(settings: Settings, sender: str) -> str:
    number = settings.twilio_notices_from_number if sender == "notices" else settings.twilio_from_number
    return number or "+10000000000"  # the console backend needs no real number


def send(message: Claimed, gateway: SmsGateway, settings: Settings) -> dict[str, object]:
    """Send one claimed message; what to write to its row. Touches no database: it runs
    in a sending thread."""
    status_callback = settings.public_url + "/sms/status" if settings.sms_backend == "twilio" else None
    outcome: dict[str, object] = {"attempts": message.attempts + 1, "lease_until": None}
    try:
        sid = gateway.send(
            to=message.to,
            from_=from_number(settings, message.sender),
            body=message.body,
            status_callback=status_callback,
        )
    except SendError as error:
        now = utcnow()
        outcome["error_code"] = error.code
        expired = message.give_up_at is not None and now >= message.give_up_at
        if error.retry and not expired:
            outcome["next_attempt_at"] = now + backoff(message.attempts + 1)
            log.warning(
                "outbox: message %s (%s) not accepted, retrying: %s", message.id, message.purpose, error
            )
        else:
            outcome["status"] = "failed"
            loud = error.code == OPTED_OUT or message.purpose == "dispatch_alert"
            log.log(
                logging.ERROR if loud else logging.WARNING,
                "outbox: message %s (%s) failed for good: %s",
                message.id,
                message.purpose,
                error,
            )
    else:
        outcome.update(status="accepted", provider_sid=sid, accepted_at=utcnow(), error_code=None)
    return outcome


def renew_leases(ids: list[int]) -> None:
    """Keep the messages a worker still holds from being claimed by another."""
    lease = timedelta(seconds=current_app.config["PORTAL_SETTINGS"].outbox_lease)
    db.session.connection()  # the write lock first (SQLite), as in claim_batch
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "queued")
        .values(lease_until=utcnow() + lease)
    )
    db.session.commit()


# What a message's row gets when it could not be handled at all (a bug): tried again later.
COULD_NOT_HANDLE = None
Outcome = tuple[Claimed, dict[str, object] | None]


def deliver_due(gateway: SmsGateway, pool: Executor | None = None) -> int:
    """One pass of the worker: claim due messages and send them, SEND_AT_ONCE at a time
    in `pool` (or in threads of this call's own). Returns how many were claimed."""
    claimed = claim_batch()
    if not claimed:
        return 0
    if pool is None:
        with ThreadPoolExecutor(SEND_AT_ONCE) as own:
            _send_and_record(claimed, gateway, own)
    else:
        _send_and_record(claimed, gateway, pool)
    return len(claimed)


def _send_and_record(claimed: list[Claimed], gateway: SmsGateway, pool: Executor) -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    answers: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    # An alert and the location change after it, to one phone, must arrive in that
    # order: such messages go one after the other in one thread; all others at once.
    in_order: dict[tuple[str, int | None], list[Claimed]] = {}
    for message in claimed:
        in_order.setdefault((message.to, message.cit_request_id), []).append(message)
    for messages in in_order.values():
        pool.submit(_send_each, messages, gateway, settings, answers)
    waiting = {message.id for message in claimed}
    renewed = time.monotonic()
    while waiting:
        try:
            done = [answers.get(timeout=settings.outbox_lease / 3)]
        except queue.Empty:
            done = []
        while not answers.empty():
            done.append(answers.get())
        if done:
            _record(done)
            waiting.difference_update(message.id for message, _outcome in done)
        if waiting and time.monotonic() - renewed > settings.outbox_lease / 3:
            renew_leases(sorted(waiting))  # slow sends: hold the rest a while longer
            renewed = time.monotonic()


def _send_each(
    messages: list[Claimed], gateway: SmsGateway, settings: Settings, answers: queue.SimpleQueue[Outcome]
) -> None:
    """In a sending thread: each message in turn; every one gets an answer, whatever happens."""
    for message in messages:
        outcome: dict[str, object] | None = COULD_NOT_HANDLE
        try:
            outcome = send(message, gateway, settings)
        except Exception:
            log.exception("outbox: message %s could not be handled; retrying later", message.id)
        finally:
            answers.put((message, outcome))


def _record(done: list[Outcome]) -> None:
    """Write what Twilio answered, for every message answered so far, in one transaction:
    a SID is stored milliseconds after Twilio's answer (a killed worker sends again the
    messages whose SID it had not stored)."""
    try:
        _write(done)
    except Exception:
        db.session.rollback()
        if len(done) == 1:
            message, outcome = done[0]
            if outcome is COULD_NOT_HANDLE:
                raise
            # One message that cannot be recorded (a bug, an unreadable row) must not
            # stop the others: log it loudly and try it again later.
            log.exception("outbox: message %s could not be recorded; retrying later", message.id)
            _write([(message, COULD_NOT_HANDLE)])
            return
        for one in done:
            _record([one])
        return
    sids = [outcome["provider_sid"] for _message, outcome in done if outcome and "provider_sid" in outcome]
    if sids:
        early = db.session.execute(
            select(EarlyStatus.provider_sid, EarlyStatus.status, EarlyStatus.error_code).where(
                EarlyStatus.provider_sid.in_(sids)
            )
        ).all()
        for sid, status, error_code in early:
            db.session.execute(delete(EarlyStatus).where(EarlyStatus.provider_sid == sid))
            record_status(sid, status, error_code)  # commits
        db.session.commit()


def _write(done: Iterable[Outcome]) -> None:
    for message, outcome in done:
        if outcome is COULD_NOT_HANDLE:
            outcome = {
                "lease_until": None,
                "next_attempt_at": utcnow() + timedelta(seconds=BACKOFF_CAP_SECONDS),
            }
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id == message.id).values(outcome))
    db.session.commit()


def reconcile_statuses(gateway: SmsGateway) -> int:
    """Scheduled: look up the messages whose status callback never came (as Twilio's
    documentation advises). Returns how many were looked up."""
    now = utcnow()
    due = (
        select(OutboundMessage.id, OutboundMessage.provider_sid)
        .where(
            OutboundMessage.provider_sid.is_not(None),
            OutboundMessage.status.not_in(FINAL),
            OutboundMessage.accepted_at < now - LOOK_UP_AFTER,
            OutboundMessage.accepted_at > now - LOOK_UP_FOR,
            or_(
                OutboundMessage.status_checked_at.is_(None),
                OutboundMessage.status_checked_at < now - LOOK_UP_AFTER,
            ),
        )
        .order_by(OutboundMessage.accepted_at)
        .limit(LOOK_UP_BATCH)
    )
    found: list[tuple[int, str]] = [(message_id, sid) for message_id, sid in db.session.execute(due) if sid]
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_([message_id for message_id, _sid in found]))
        .values(status_checked_at=now)
    )
    db.session.commit()  # no transaction is open while the API answers
    for message_id, sid in found:
        try:
            looked_up = gateway.fetch_status(sid)
        except SendError as error:
            log.warning("outbox: status of message %s could not be looked up: %s", message_id, error)
            continue
        if looked_up is not None:
            record_status(sid, *looked_up)
    return len(found)


def record_status(sid: str, status: str, error_code: int | None) -> bool:
    """A delivery-status callback from Twilio; moves only forward. False if unknown."""
    if status not in STATUS_RANK:
        return False
    message = db.session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid))
    if message is None:
        # Perhaps sooner than the worker stored the SID: kept until it does (a day).
        if sid.startswith("SM") and db.session.get(EarlyStatus, sid) is None:
            db.session.add(EarlyStatus(provider_sid=sid, status=status, error_code=error_code))
        db.session.execute(delete(EarlyStatus).where(EarlyStatus.received_at < utcnow() - LOOK_UP_FOR))
        db.session.commit()
        return False
    if STATUS_RANK[status] > STATUS_RANK.get(message.status, 0):
        message.status = status
        if error_code:
            message.error_code = error_code
        if status in ("failed", "undelivered"):
            log.error("outbox: message %s (%s) %s, error %s", message.id, message.purpose, status, error_code)
    db.session.commit()
    return True
