"""Hand-offs: 911 passes a CIT request to a partner (the crisis line, a co-responder team),
the partner acknowledges it and records the outcome, and the dispatcher accepts it and
closes the request: the "call back into 911" without the phone call.

Partner organisations come from agency.toml ([[handoff_partners]]); a row here gives each
an id that accounts and hand-offs point at. Like portal.dispatch.requests, every function
changes rows in the caller's transaction and never commits.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agency import Agency, HandoffPartner
from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.dispatch import requests
from portal.dispatch.display import DISPOSITIONS
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.times import to_local

# Where the person ended up, besides the agency's facilities (agency.toml `facilities`).
STAYED_HOME = "Stayed home with a safety plan"


class Partner(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # agency.toml's key
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))  # portal.agency.HANDOFF_ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def settings(self) -> HandoffPartner | None:
        """Its entry in agency.toml now (shifts), or None once it was taken out."""
        agency: Agency = current_app.extensions["agency"]
        return agency.handoff_partner(self.key)


class HandOff(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cit_request_id: Mapped[int] = mapped_column(ForeignKey("cit_requests.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(300))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))
    # The partner's outcome: one of DISPOSITIONS, where the person went, in words.
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by: Mapped[str | None] = mapped_column(String(300))
    disposition: Mapped[str | None] = mapped_column(String(24))
    referral: Mapped[str | None] = mapped_column(String(120))
    outcome_note: Mapped[str | None] = mapped_column(EncryptedText)
    # The dispatcher took the outcome and closed the request.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cit_request: Mapped[CitRequest] = relationship()
    partner: Mapped[Partner] = relationship()

    @property
    def state(self) -> str:
        """waiting (for the partner), acknowledged, outcome (for dispatch to accept), done
        (accepted, or the request closed some other way: nothing is left to send)."""
        if self.accepted_at is not None or self.cit_request.status == "closed":
            return "done"
        if self.outcome_at is not None:
            return "outcome"
        return "acknowledged" if self.acknowledged_at is not None else "waiting"


def register_partners() -> list[Partner]:
    """Rows for the partners agency.toml names (new ones added, names updated, the ones
    taken out made inactive); returns the active ones. Safe to run again."""
    listed = {item.key: item for item in current_app.extensions["agency"].handoff_partners}
    rows = {row.key: row for row in db.session.scalars(select(Partner))}
    for key, item in listed.items():
        row = rows.get(key) or Partner(key=key)
        row.name, row.role, row.active = item.name, item.role, True
        db.session.add(row)
    for key, row in rows.items():
        if key not in listed:
            row.active = False
    db.session.flush()
    return [row for row in db.session.scalars(select(Partner).order_by(Partner.id)) if row.active]


def find_partner(key: str) -> Partner | None:
    return db.session.scalar(select(Partner).where(Partner.key == key))


def offered_partners(now: datetime | None = None) -> list[Partner]:
    """The partners a dispatcher may hand a request to now: active, taking hand-offs
    (not follow-up), and on shift on the agency's clock."""
    local = to_local(now or utcnow()).time()
    query = select(Partner).where(Partner.active.is_(True), Partner.role != "follow_up").order_by(Partner.id)
    return [
        partner
        for partner in db.session.scalars(query)
        if partner.settings is not None and partner.settings.on_shift(local)
    ]


def current_handoff(request: CitRequest) -> HandOff | None:
    query = select(HandOff).where(HandOff.cit_request_id == request.id).order_by(HandOff.id.desc())
    return db.session.scalars(query).first()


def hand_off(request: CitRequest, partner: Partner, by: str) -> HandOff | None:
    """Hand the request to a partner offered now; None if it is closed, already with a
    partner that has not finished, or the partner is not offered (off shift)."""
    if request.status == "closed" or partner not in offered_partners():
        return None
    current = current_handoff(request)
    if current is not None and current.state in ("waiting", "acknowledged"):
        return None
    handoff = HandOff(cit_request=request, partner=partner, created_by=by)
    db.session.add(handoff)
    request.messages.append(RequestMessage(direction="note", body=f"Handed to {partner.name}.", author=by))
    if request.status == "open":  # handing off is taking it: the texter is told so
        requests.acknowledge(request, by)
    return handoff


def acknowledge(handoff: HandOff, by: str) -> bool:
    if handoff.acknowledged_at is not None or handoff.state == "done":
        return False
    handoff.acknowledged_at, handoff.acknowledged_by = utcnow(), by
    return True


def record_outcome(
    handoff: HandOff, *, disposition: str, referral: str | None, note: str | None, by: str
) -> bool:
    """The partner's outcome, shown at once on the dispatcher's request page. Sent once:
    a second (a colleague's, a double press) could change what a dispatcher is about to
    accept while their page still shows the first."""
    if disposition not in DISPOSITIONS:
        raise ValueError(f"unknown disposition {disposition!r}")
    if handoff.state not in ("waiting", "acknowledged"):
        return False
    if handoff.acknowledged_at is None:
        acknowledge(handoff, by)
    handoff.outcome_at, handoff.outcome_by = utcnow(), by
    handoff.disposition = disposition
    handoff.referral = (referral or "").strip() or None
    handoff.outcome_note = (note or "").strip() or None
    return True


def accept_outcome(handoff: HandOff, *, cad_number: str | None, tell_texter: bool, by: str) -> bool:
    """The dispatcher takes the partner's outcome: the request closes with it."""
    if handoff.state != "outcome" or handoff.disposition is None:
        return False
    request = handoff.cit_request
    if request.status != "closed":
        requests.close(
            request, disposition=handoff.disposition, cad_number=cad_number, tell_texter=tell_texter, by=by
        )
    request.referral = handoff.referral
    handoff.accepted_at = utcnow()
    return True


def partner_handoffs(partner_id: int, *, open_only: bool = True) -> list[HandOff]:
    """A partner's hand-offs, newest first; open: not yet accepted by dispatch."""
    query = select(HandOff).where(HandOff.partner_id == partner_id)
    if open_only:
        query = query.join(CitRequest).where(HandOff.accepted_at.is_(None), CitRequest.status != "closed")
    return list(db.session.scalars(query.order_by(HandOff.created_at.desc(), HandOff.id.desc())))


def partner_may_see(partner_id: int, request: CitRequest) -> bool:
    """A partner sees only requests handed to it (and, through them, their plans)."""
    query = select(HandOff.id).where(HandOff.partner_id == partner_id, HandOff.cit_request_id == request.id)
    return db.session.scalar(query) is not None


def past_referrals(plan_id: int) -> list[CitRequest]:
    """The plan's closed requests that record where the person was taken or referred,
    newest first: what the statewide CIT database shows officers, here with the brief
    (so only in an audited view of the plan)."""
    query = (
        select(CitRequest)
        .where(CitRequest.plan_id == plan_id, CitRequest.referral.is_not(None))
        .order_by(CitRequest.closed_at.desc(), CitRequest.id.desc())
        .limit(10)
    )
    return list(db.session.scalars(query))
