"""Short-lived links to a crisis plan for people outside the console: the officer card a
dispatcher sends a responding officer, and the links a 911 center's system gets from
the API look-up (the call-taker's brief and the additional-data blocks).

A link is a signed token (itsdangerous: tampered or too old, refused before the
database is asked) naming a row that says whom it was issued to, until when, and
whether it was revoked. The first browser that opens a brief claims the link: a copy
forwarded to another phone is refused. A link for a request stops working when the
request closes; a plan's links go with the plan.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Boolean, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText, vault
from portal.database import UTCDateTime, rows_changed, utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import queue_message
from portal.phones import phone_index
from portal.plans.models import CrisisPlan

# How long each kind of link works (the issue's numbers): an officer reads the card on
# the way and on arrival; a call-taker's links last the first minutes of a call.
LIFETIMES = {
    "officer_card": timedelta(minutes=60),
    "call_taker": timedelta(minutes=15),
}
SALT = "plan-link"
# Signatures older than this are refused before the database is asked; a younger link
# past its own lifetime is found, and refused as expired (which a reader is told).
SIGNATURE_MAX_AGE = max(LIFETIMES.values()) + timedelta(days=1)


class Responder(db.Model):  # type: ignore[name-defined,misc]
    """A responding officer's or unit's phone, registered by an admin: officer cards are
    texted only to these, never to a number typed in during a call."""

    __tablename__ = "responders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # How dispatch and the family's access log name it: "Unit 3142" or "Officer Diaz".
    label: Mapped[str] = mapped_column(String(80))
    number: Mapped[str] = mapped_column(EncryptedText)  # E.164
    number_index: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanLink(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "plan_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The keyed hash of the token's random part; the token itself is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # one of LIFETIMES
    plan_id: Mapped[int] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"), index=True)
    cit_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True
    )
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("responders.id", ondelete="SET NULL"))
    # Whose link it is, as the card shows it and the audit trail names its opener:
    # "Unit 3142", or an API client's name.
    issued_to: Mapped[str] = mapped_column(String(120))
    # The API client a call-taker's link was issued to: only that client's token may
    # fetch its additional data.
    api_client_id: Mapped[int | None] = mapped_column(Integer)
    issued_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(300))
    # The keyed hash of the claim cookie of the first browser that opened the brief.
    claimed_by: Mapped[str | None] = mapped_column(String(64))

    plan: Mapped[CrisisPlan] = relationship()
    cit_request: Mapped[CitRequest | None] = relationship()
    responder: Mapped[Responder | None] = relationship()

    def refusal(self, now: datetime) -> str | None:
        """Why the link no longer opens (expired, revoked, closed), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if self.cit_request is not None and self.cit_request.status == "closed":
            return "closed"
        if now >= self.expires_at:
            return "expired"
        return None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=SALT)


def _key_hash(key: str) -> str:
    return vault().blind_index("plan-link:" + key)


def issue(
    plan: CrisisPlan,
    purpose: str,
    *,
    issued_to: str,
    issued_by: str,
    cit_request: CitRequest | None = None,
    responder: Responder | None = None,
    api_client_id: int | None = None,
) -> tuple[PlanLink, str]:
    """A new link, in the caller's transaction; returns it and its token (shown once)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    link = PlanLink(
        key_hash=_key_hash(key),
        purpose=purpose,
        plan=plan,
        cit_request=cit_request,
        responder=responder,
        issued_to=issued_to,
        api_client_id=api_client_id,
        issued_by=issued_by,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    db.session.add(link)
    return link, _serializer().dumps(key)


@dataclass(frozen=True)
class Opened:
    link: PlanLink | None
    refusal: str | None  # unknown, expired, revoked, closed, claimed; None: it opens


def open_link(token: str, purposes: tuple[str, ...]) -> Opened:
    """The link a token names, if it still opens for one of `purposes`."""
    try:
        key = _serializer().loads(token, max_age=int(SIGNATURE_MAX_AGE.total_seconds()))
    except BadSignature:  # SignatureExpired is one: a token older than any link lives
        return Opened(None, "unknown")
    link = db.session.scalar(select(PlanLink).where(PlanLink.key_hash == _key_hash(str(key))))
    if link is None or link.purpose not in purposes:
        return Opened(None, "unknown")
    return Opened(link, link.refusal(utcnow()))


def claim(link: PlanLink, device_key: str | None) -> tuple[bool, str | None]:
    """Whether this browser may read the brief, and the new device key to set in its
    cookie when it is the first to open the link. The claim is one UPDATE, so two phones
    opening the same link at once cannot both win."""
    if link.claimed_by is not None:
        return device_key is not None and _key_hash(device_key) == link.claimed_by, None
    new_key = secrets.token_urlsafe(32)
    claimed = rows_changed(
        db.session,
        update(PlanLink)
        .where(PlanLink.id == link.id, PlanLink.claimed_by.is_(None))
        .values(claimed_by=_key_hash(new_key)),
    )
    return (True, new_key) if claimed else (False, None)


def text_card(link: PlanLink, url: str) -> None:
    """Text an officer card's link to its responder, from the CIT line. The text names
    the request, never the person: whoever reads the phone's lock screen learns nothing."""
    assert link.responder is not None  # noqa: S101 (only responders' cards are texted)
    about = f"CIT request {link.cit_request.reference}" if link.cit_request else "a crisis plan"
    queue_message(
        to=link.responder.number,
        body=f"Officer card for {about}, for {link.issued_to}. Opens on one phone, for 60 min: {url}",
        sender="line",
        purpose="officer_card",
        give_up_after=LIFETIMES["officer_card"],
        cit_request_id=link.cit_request.id if link.cit_request else None,
    )


def revoke(link: PlanLink, by: str) -> bool:
    if link.revoked_at is not None:
        return False
    link.revoked_at, link.revoked_by = utcnow(), by
    return True


def live_links(*, plan: CrisisPlan | None = None, cit_request: CitRequest | None = None) -> list[PlanLink]:
    """Officer cards that still open, for a request or a plan, newest first: the console
    lists them with a button to revoke each."""
    query = select(PlanLink).where(PlanLink.purpose == "officer_card", PlanLink.revoked_at.is_(None))
    if cit_request is not None:
        query = query.where(PlanLink.cit_request_id == cit_request.id)
    if plan is not None:
        query = query.where(PlanLink.plan_id == plan.id)
    now = utcnow()
    links = db.session.scalars(query.order_by(PlanLink.created_at.desc(), PlanLink.id.desc()))
    return [link for link in links if link.refusal(now) is None]


def active_responders() -> list[Responder]:
    query = select(Responder).where(Responder.active.is_(True)).order_by(Responder.label)
    return list(db.session.scalars(query))


def find_responder_by_number(e164: str) -> Responder | None:
    return db.session.scalar(select(Responder).where(Responder.number_index == phone_index(e164)))
