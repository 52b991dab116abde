"""Settings: one frozen object built from the environment (see DESIGN.md, Contract)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the app refuses to start."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _instance_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """Read a development secret from instance/, generating it on first use.

    Development only: production must be given its secrets, so that a restart or a
    second instance never silently invents new keys (which would make stored plans
    unreadable).
    """
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    database_url: str
    encryption_keys: tuple[str, ...]
    hash_key: str
    public_url: str
    sms_backend: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from_number: str | None
    twilio_notices_from_number: str | None
    twilio_api_url: str
    dispatch_numbers: tuple[str, ...]
    fallback_numbers: tuple[str, ...]
    supervisor_numbers: tuple[str, ...]
    redis_url: str | None
    agency_file: Path
    # Where the notices number may text verification codes (ISO 3166 region codes):
    # never premium or international ranges that an attacker would pump.
    sms_countries: tuple[str, ...] = ("US", "CA")
    # Seconds for a dispatch number to accept an alert before the fallback numbers are
    # tried and the texter is told to call 911.
    dispatch_timeout: float = 60.0
    # Seconds a worker holds the messages it claimed (renewed while it works through
    # them); after that a dead worker's messages are claimed again. Well under the
    # dispatch timeout, so that a worker's crash never makes an alert late.
    outbox_lease: float = 20.0
    # Console sign-in: idle and absolute session limits, and whether one account may be
    # signed in twice at once.
    console_idle_minutes: float = 30.0
    console_absolute_hours: float = 12.0
    console_concurrent_sessions: bool = False
    # Seconds before an unacknowledged request is escalated to supervisors.
    acknowledge_within: float = 180.0
    # Days a closed CIT request (with the texter's messages) is kept before deletion.
    request_retention_days: int = 365
    # How many reverse proxies (load balancer, nginx) stand in front of the app, so that
    # per-visitor rate limits see the visitor's address, not the proxy's.
    trusted_proxies: int = 0
    # Cost of the console's argon2id password hashes (PORTAL_PASSWORD_HASH_COST): "default"
    # (the library's recommended costs) or "test" (cheap ones, for the test suite;
    # production refuses them).
    argon2_cost: str = "default"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], instance_path: Path) -> Settings:
        env = environ.get("PORTAL_ENV", "development")
        if env not in ("development", "production"):
            raise SettingsError(f"PORTAL_ENV must be development or production, not {env!r}")
        production = env == "production"

        def secret(name: str, filename: str, make: Callable[[], str]) -> str:
            value = environ.get(name)
            if value:
                return value
            if production:
                raise SettingsError(f"{name} is required in production")
            return _instance_secret(instance_path, filename, make)

        secret_key = secret("PORTAL_SECRET_KEY", "secret_key", lambda: secrets.token_hex(32))
        encryption_keys = _split(
            secret("PORTAL_ENCRYPTION_KEYS", "encryption_keys", lambda: Fernet.generate_key().decode())
        )
        for key in encryption_keys:
            try:
                Fernet(key)
            except ValueError as error:
                raise SettingsError("PORTAL_ENCRYPTION_KEYS holds a key that is not a Fernet key") from error
        hash_key = secret("PORTAL_HASH_KEY", "hash_key", lambda: secrets.token_hex(32))

        public_url = environ.get("PORTAL_PUBLIC_URL", "")
        if not public_url:
            if production:
                raise SettingsError("PORTAL_PUBLIC_URL is required in production")
            public_url = "http://127.0.0.1:5000"
        if production and urlsplit(public_url).scheme != "https":
            raise SettingsError("PORTAL_PUBLIC_URL must be https in production")

        sid = environ.get("TWILIO_ACCOUNT_SID") or None
        token = environ.get("TWILIO_AUTH_TOKEN") or None
        from_number = environ.get("TWILIO_FROM_NUMBER") or None
        sms_backend = environ.get("PORTAL_SMS_BACKEND") or ("twilio" if sid and token else "console")
        if sms_backend not in ("twilio", "console"):
            raise SettingsError("PORTAL_SMS_BACKEND must be twilio or console")
        if sms_backend == "twilio" and not (sid and token and from_number):
            raise SettingsError(
                "the twilio SMS backend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
            )
        if production and sms_backend == "console":
            raise SettingsError("production refuses the console SMS backend: set the Twilio settings")

        dispatch_numbers = _split(environ.get("PORTAL_DISPATCH_NUMBERS"))
        if not dispatch_numbers:
            if production:
                raise SettingsError("PORTAL_DISPATCH_NUMBERS is required in production")
            # A demo number from the range reserved for fiction, so development never
            # texts a real phone.
            dispatch_numbers = ("+13145550199",)

        argon2_cost = environ.get("PORTAL_PASSWORD_HASH_COST") or "default"
        if argon2_cost not in ("default", "test"):
            raise SettingsError("PORTAL_PASSWORD_HASH_COST must be default or test")
        if production and argon2_cost != "default":
            raise SettingsError("production refuses PORTAL_PASSWORD_HASH_COST=test")

        default_database = f"sqlite:///{instance_path / 'portal.db'}"
        return cls(
            env=env,
            secret_key=secret_key,
            database_url=environ.get("PORTAL_DATABASE_URL") or default_database,
            encryption_keys=encryption_keys,
            hash_key=hash_key,
            public_url=public_url.rstrip("/"),
            sms_backend=sms_backend,
            twilio_account_sid=sid,
            twilio_auth_token=token,
            twilio_from_number=from_number,
            twilio_notices_from_number=environ.get("TWILIO_NOTICES_FROM_NUMBER") or from_number,
            twilio_api_url=(environ.get("PORTAL_TWILIO_API_URL") or "https://api.twilio.com").rstrip("/"),
            dispatch_numbers=dispatch_numbers,
            fallback_numbers=_split(environ.get("PORTAL_FALLBACK_NUMBERS")),
            supervisor_numbers=_split(environ.get("PORTAL_SUPERVISOR_NUMBERS")),
            redis_url=environ.get("PORTAL_REDIS_URL") or None,
            sms_countries=tuple(
                code.strip().upper() for code in (environ.get("PORTAL_SMS_COUNTRIES") or "US,CA").split(",")
            ),
            agency_file=Path(environ.get("PORTAL_AGENCY_FILE") or Path(__file__).with_name("agency.toml")),
            dispatch_timeout=float(environ.get("PORTAL_DISPATCH_TIMEOUT") or 60),
            outbox_lease=float(environ.get("PORTAL_OUTBOX_LEASE") or 20),
            console_idle_minutes=float(environ.get("PORTAL_CONSOLE_IDLE_MINUTES") or 30),
            console_absolute_hours=float(environ.get("PORTAL_CONSOLE_ABSOLUTE_HOURS") or 12),
            console_concurrent_sessions=environ.get("PORTAL_CONSOLE_CONCURRENT_SESSIONS", "") == "true",
            acknowledge_within=float(environ.get("PORTAL_ACKNOWLEDGE_WITHIN") or 180),
            request_retention_days=int(environ.get("PORTAL_REQUEST_RETENTION_DAYS") or 365),
            trusted_proxies=int(environ.get("PORTAL_TRUSTED_PROXIES") or 0),
            argon2_cost=argon2_cost,
        )


def load(instance_path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(os.environ if environ is None else environ, instance_path)
