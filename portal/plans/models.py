"""The crisis-plan registry's tables. Personal data is encrypted column by column."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedBytes, EncryptedJSON, EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.plans.names import name_key, name_words

# Letters and digits nobody confuses on a card or over the phone (no 0/O, 1/I/L, U/V).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
PLAN_LIFETIME = timedelta(days=365)
DRAFT_LIFETIME = timedelta(days=7)


def new_reference() -> str:
    """A plan's reference code, such as K7QM-3XPA."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


class CrisisPlan(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "crisis_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(9), unique=True, default=new_reference)
    # The language the plan, its card and its text messages use (a portal.i18n code).
    language: Mapped[str] = mapped_column(String(8))
    cit_requested: Mapped[bool] = mapped_column(Boolean)
    # self, parent (of a minor), guardian, family
    filed_by: Mapped[str] = mapped_column(String(16))
    # When a family member files for an adult, dispatch sees "not confirmed by the
    # person" until the person confirms with a code sent to their own phone.
    person_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the person asked to change, for whoever filed the plan (never shown to dispatch).
    person_note: Mapped[str | None] = mapped_column(EncryptedText)
    # Everything the family wrote: the person, places, crisis signs, care, people.
    details: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    # Keyed hash of the person's full name and date of birth (birth_index_key); the
    # console's look-up uses plan_name_indexes, which holds it among the others.
    name_birth_index: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the family chose to be told by text (issue 16): when the plan is opened for a
    # request (the kind of viewer and the reason, never the content), and, with the
    # person's consent, when the request closes. And whether the person agrees to a
    # follow-up call from the peer-support partner after a crisis.
    notify_on_open: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_on_close: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # 30, then 7: the last expiry reminder sent (days before expiry), so none is sent twice.
    reminder_sent: Mapped[int | None] = mapped_column(Integer)

    phones: Mapped[list[PlanPhone]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )
    photo: Mapped[PlanPhoto | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def expires_at(self) -> datetime:
        return self.confirmed_at + PLAN_LIFETIME


class PlanPhone(db.Model):  # type: ignore[name-defined,misc]
    """A phone a call or text about the person may come from, verified by an SMS code."""

    __tablename__ = "plan_phones"
    __table_args__ = (UniqueConstraint("plan_id", "number_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(EncryptedText)  # E.164
    number_index: Mapped[str] = mapped_column(String(64), index=True)
    # person (the person's own phone), filer (whoever filed), other (look-up only), or
    # pending: the person's phone a family member gave but could not verify; it finds no
    # plan until the person answers the confirmation texted to it (see filing.collect).
    role: Mapped[str] = mapped_column(String(8))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[CrisisPlan] = relationship(back_populates="phones")

    @property
    def can_sign_in(self) -> bool:
        return self.role in ("person", "filer")


class PlanPhoto(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "plan_photos"

    plan_id: Mapped[int] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(EncryptedBytes)


class PlanDraft(db.Model):  # type: ignore[name-defined,misc]
    """A plan being filled in: kept on the server, encrypted, for 7 days.

    The browser holds only the draft's random id (in the session), never its contents.
    """

    __tablename__ = "plan_drafts"

    id: Mapped[str] = mapped_column(String(43), primary_key=True, default=lambda: secrets.token_urlsafe(32))
    # Set when the draft edits an existing plan rather than filing a new one.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    photo_jpeg: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def expires_at(self) -> datetime:
        return self.updated_at + DRAFT_LIFETIME


class RegistrantSession(db.Model):  # type: ignore[name-defined,misc]
    """A registrant signed in to their plan, kept on the server so that signing out, a
    withdrawal or the time limit ends it for every copy of the cookie. The cookie holds
    only a random key; this row holds its hash."""

    __tablename__ = "registrant_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"), index=True)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneCode(db.Model):  # type: ignore[name-defined,misc]
    """A one-time SMS code: to verify a phone, to sign in, or for the person to confirm."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number_index: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # verify, sign_in, confirm
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneLockout(db.Model):  # type: ignore[name-defined,misc]
    """Wrong codes per phone: 5 lock that phone for 10 minutes."""

    __tablename__ = "phone_lockouts"

    number_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanNameIndex(db.Model):  # type: ignore[name-defined,misc]
    """One keyed hash of a name the plan is found by, with the date of birth: the full
    name and the name the person likes to be called, in the forms portal.plans.names
    gives (no case, accents, punctuation or word order). Never the name itself."""

    __tablename__ = "plan_name_indexes"
    __table_args__ = (UniqueConstraint("plan_id", "name_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("crisis_plans.id", ondelete="CASCADE"), index=True)
    name_index: Mapped[str] = mapped_column(String(64), index=True)

    plan: Mapped[CrisisPlan] = relationship()


def birth_index_key(name: str, born: date) -> str:
    """The text behind CrisisPlan.name_birth_index: the full name without case, accents,
    punctuation or spaces, and the date of birth. The look-up itself uses PlanNameIndex,
    which holds this key too."""
    return name_key("".join(name_words(name)), born)
