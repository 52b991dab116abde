"""API clients: a 911 center's CAD system or a partner's, each with its own bearer token.

The token is shown once, when the client is created; only its keyed hash is stored, so
neither the database nor a backup can give it away. Revoking takes effect on the next
call: every call looks the client up again.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal import audit
from portal.crypto import vault
from portal.database import UTCDateTime, utcnow
from portal.extensions import db

# lookup: a 911 center's CAD looks up plans by caller number. export: a CAD or a partner
# fetches requests as EIDO documents.
SCOPES = ("lookup", "export")
TOKEN_PREFIX = "cftp_"  # noqa: S105 (not a secret: so that a secret scanner, or a person, can tell what it is)
DEFAULT_PER_MINUTE = 120


class ApiClient(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # How the audit trail and the family's access log name it: "St. Louis County 911 CAD".
    name: Mapped[str] = mapped_column(String(80), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    per_minute: Mapped[int] = mapped_column(Integer, default=DEFAULT_PER_MINUTE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def actor_name(self) -> str:
        """The audit trail's name for it; "System" tells the family's access log that a
        911 center's system, not a person at a console, read the plan."""
        return f"System {self.name}"


def _token_hash(token: str) -> str:
    return vault().blind_index("api-client:" + token)


def create(name: str, scope: str, per_minute: int = DEFAULT_PER_MINUTE) -> tuple[ApiClient, str]:
    """A new client and its token, in the caller's transaction."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name.strip(), scope=scope, token_hash=_token_hash(token), per_minute=per_minute)
    db.session.add(client)
    return client, token


def find_by_token(token: str) -> ApiClient | None:
    """The client this token belongs to, unless it was revoked."""
    client = db.session.scalar(select(ApiClient).where(ApiClient.token_hash == _token_hash(token)))
    return client if client is not None and client.revoked_at is None else None


def find_by_name(name: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.name == name.strip()))


def init_app(app: Flask) -> None:
    cli = AppGroup("api-clients", help="Machine clients of the API (911 centers' CAD systems, partners).")

    @cli.command("create")
    @click.argument("name")
    @click.option("--scope", type=click.Choice(SCOPES), required=True)
    @click.option(
        "--per-minute", type=click.IntRange(1, 10_000), default=DEFAULT_PER_MINUTE, show_default=True
    )
    def create_command(name: str, scope: str, per_minute: int) -> None:
        """Create a client; its token is printed once and never stored."""
        if not name.strip():
            raise click.ClickException("give the client a name, such as the 911 center's")
        if find_by_name(name) is not None:
            raise click.ClickException(f"there is already a client named {name.strip()!r}")
        client, token = create(name, scope, per_minute)
        audit.record("api_client.create", actor_id=None, actor_name="command line", reason=client.name)
        db.session.commit()
        click.echo(f"Token for {client.name} ({scope}); it is shown only now:\n{token}")

    @cli.command("revoke")
    @click.argument("name")
    def revoke_command(name: str) -> None:
        """Refuse the client's token from the next call on."""
        client = find_by_name(name)
        if client is None:
            raise click.ClickException(f"no client named {name.strip()!r}")
        if client.revoked_at is None:
            client.revoked_at = utcnow()
            audit.record("api_client.revoke", actor_id=None, actor_name="command line", reason=client.name)
            db.session.commit()
        click.echo(f"{client.name} is revoked.")

    @cli.command("list")
    def list_command() -> None:
        """Every client, its scope, and whether it is revoked."""
        for client in db.session.scalars(select(ApiClient).order_by(ApiClient.name)):
            state = f"revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC" if client.revoked_at else "active"
            click.echo(f"{client.name}\t{client.scope}\t{client.per_minute}/min\t{state}")

    app.cli.add_command(cli)
