"""Console accounts and their server-side sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.database import UTCDateTime, utcnow
from portal.dispatch.handoffs import Partner
from portal.extensions import db

ROLES = ("dispatcher", "supervisor", "admin")
# A partner's staff (the crisis line, a co-responder team, peers): outside the staff
# roles' ladder, they may use the partner pages only, for their own organisation.
PARTNER = "partner"


class ConsoleUser(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # The last TOTP time step used, so that a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A one-time set-up link (its keyed hash): to set a password and enrol a second factor.
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For a partner account: its organisation.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))

    partner: Mapped[Partner | None] = relationship()

    @property
    def display_name(self) -> str:
        """How the audit trail and the registrant's access log name this user."""
        if self.partner is not None:
            return f"Partner {self.email} ({self.partner.name})"
        return f"{self.role.capitalize()} {self.email}"

    def may(self, role: str) -> bool:
        """Staff roles nest: a supervisor may do what a dispatcher may, an admin both. A
        partner may do only what partners do, and no staff role may."""
        if self.role == PARTNER or role == PARTNER:
            return self.role == role and self.partner_id is not None
        return ROLES.index(self.role) >= ROLES.index(role)


class ConsoleSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in console session, kept on the server so it can be revoked."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    # Password checked, second factor not yet: the session may only finish signing in.
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[ConsoleUser] = relationship()


class SignInFailures(db.Model):  # type: ignore[name-defined,misc]
    """Wrong passwords for one account from one client (or from all, key "*"): a client
    that guesses is locked out of that account, without locking out the dispatcher."""

    __tablename__ = "console_sign_in_failures"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
