"""Settings: one frozen object built from the environment, refused at start-up when a value is wrong.

Every variable read here is listed in docs/settings.md (tests/test_settings_table.py keeps them in step).
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
import redis
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the app refuses to start."""


# Durations beyond this are typing mistakes, and would overflow date arithmetic.
_YEAR_IN = {"seconds": 365 * 24 * 3600, "minutes": 365 * 24 * 60, "hours": 365 * 24}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_EXAMPLE_PHONE = "+13145550100"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _duration(environ: Mapping[str, str], name: str, default: float, unit: str) -> float:
    """A positive number of `unit` (seconds, minutes, hours); decimals allowed."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a number of {unit}, like {default:g}, not {raw!r}")
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0 {unit}, not {raw!r}")
    if value > _YEAR_IN[unit]:
        raise SettingsError(f"{name} must be at most a year ({_YEAR_IN[unit]} {unit}), not {raw!r}")
    return value


def _whole_number(
    environ: Mapping[str, str], name: str, default: int, unit: str, least: int, most: int
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    # Not int(), which also takes "1_000" and digits of other scripts.
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise SettingsError(f"{name} must be a whole number of {unit}, like {default}, not {raw!r}")
    value = int(raw)
    if not least <= value <= most:
        raise SettingsError(f"{name} must be from {least} to {most} {unit}, not {raw!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip()
    if raw.lower() in _TRUE:
        return True
    if not raw or raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _is_e164(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == value
    )


def _phone(environ: Mapping[str, str], name: str) -> str | None:
    # The message never repeats a phone number: start-up errors end up in logs.
    value = environ.get(name, "").strip() or None
    if value is not None and not _is_e164(value):
        raise SettingsError(
            f"{name} must be a phone number in E.164 form (+, country code, number), like {_EXAMPLE_PHONE}"
        )
    return value


def _phones(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    numbers = _split(environ.get(name))
    for place, number in enumerate(numbers, start=1):
        if not _is_e164(number):
            raise SettingsError(
                f"{name} must be phone numbers in E.164 form (+, country code, number), like "
                f"{_EXAMPLE_PHONE}, separated by commas: number {place} of {len(numbers)} is not"
            )
    return numbers


def _countries(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    codes = tuple(code.upper() for code in _split(raw))
    for code in codes or (raw,):
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise SettingsError(
                f"{name} must be two-letter region codes separated by commas, like US,CA, not {code!r}"
            )
    return codes


def _web_url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip() or default
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http or https URL, like https://example.org, not {value!r}")
    return value.rstrip("/")


def _database_url(environ: Mapping[str, str], name: str, default: str) -> str:
    # The URL may hold a password: the message never repeats it.
    value = environ.get(name, "").strip() or default
    try:
        driver = make_url(value).drivername
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        driver = ""
    if driver not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise SettingsError(
            f"{name} must be an SQLite or PostgreSQL URL, like sqlite:////var/lib/portal/portal.db "
            "or postgresql+psycopg://portal@db.example.org/portal (the psycopg driver)"
        )
    return value


def _redis_url(environ: Mapping[str, str], name: str) -> str | None:
    # The URL may hold a password: the message never repeats it.
    value = environ.get(name, "").strip() or None
    if value is not None:
        try:
            redis.ConnectionPool.from_url(value)  # parses only: no connection is made
        except ValueError:
            # Not chained: the library's message may quote the URL.
            raise SettingsError(f"{name} must be a Redis URL, like redis://127.0.0.1:6379/0") from None
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = environ.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"{name} must be {' or '.join(choices)}, not {value!r}")
    return value


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
    # Days after a request closes that the peer-support partner's follow-up call is due
    # (by the end of that day on the agency's clock), when the plan records consent.
    follow_up_days: int = 2
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
        """Every variable is listed in docs/settings.md; a test keeps the two in step."""
        env = _choice(environ, "PORTAL_ENV", ("development", "production"), "development")
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

        if production and not environ.get("PORTAL_PUBLIC_URL", "").strip():
            raise SettingsError("PORTAL_PUBLIC_URL is required in production")
        public_url = _web_url(environ, "PORTAL_PUBLIC_URL", "http://127.0.0.1:5000")
        if production and urlsplit(public_url).scheme != "https":
            raise SettingsError("PORTAL_PUBLIC_URL must be https in production")

        sid = environ.get("TWILIO_ACCOUNT_SID", "").strip() or None
        if sid is not None and not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
            raise SettingsError("TWILIO_ACCOUNT_SID must be the account's SID: AC and 32 hexadecimal digits")
        token = environ.get("TWILIO_AUTH_TOKEN", "").strip() or None
        from_number = _phone(environ, "TWILIO_FROM_NUMBER")
        sms_backend = _choice(
            environ, "PORTAL_SMS_BACKEND", ("twilio", "console"), "twilio" if sid and token else "console"
        )
        if sms_backend == "twilio" and not (sid and token and from_number):
            raise SettingsError(
                "the twilio SMS backend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
            )
        if production and sms_backend == "console":
            raise SettingsError("production refuses the console SMS backend: set the Twilio settings")

        dispatch_numbers = _phones(environ, "PORTAL_DISPATCH_NUMBERS")
        if not dispatch_numbers:
            if production:
                raise SettingsError("PORTAL_DISPATCH_NUMBERS is required in production")
            # A demo number from the range reserved for fiction, so development never
            # texts a real phone.
            dispatch_numbers = ("+13145550199",)

        argon2_cost = _choice(environ, "PORTAL_PASSWORD_HASH_COST", ("default", "test"), "default")
        if production and argon2_cost != "default":
            raise SettingsError("production refuses PORTAL_PASSWORD_HASH_COST=test")

        agency_file = Path(
            environ.get("PORTAL_AGENCY_FILE", "").strip() or Path(__file__).with_name("agency.toml")
        )
        if not agency_file.is_file():
            raise SettingsError(
                f"PORTAL_AGENCY_FILE must name an agency.toml file; there is none at {agency_file}"
            )

        return cls(
            env=env,
            secret_key=secret_key,
            database_url=_database_url(
                environ, "PORTAL_DATABASE_URL", f"sqlite:///{instance_path / 'portal.db'}"
            ),
            encryption_keys=encryption_keys,
            hash_key=hash_key,
            public_url=public_url,
            sms_backend=sms_backend,
            twilio_account_sid=sid,
            twilio_auth_token=token,
            twilio_from_number=from_number,
            twilio_notices_from_number=_phone(environ, "TWILIO_NOTICES_FROM_NUMBER") or from_number,
            twilio_api_url=_web_url(environ, "PORTAL_TWILIO_API_URL", "https://api.twilio.com"),
            dispatch_numbers=dispatch_numbers,
            fallback_numbers=_phones(environ, "PORTAL_FALLBACK_NUMBERS"),
            supervisor_numbers=_phones(environ, "PORTAL_SUPERVISOR_NUMBERS"),
            redis_url=_redis_url(environ, "PORTAL_REDIS_URL"),
            sms_countries=_countries(environ, "PORTAL_SMS_COUNTRIES", ("US", "CA")),
            agency_file=agency_file,
            dispatch_timeout=_duration(environ, "PORTAL_DISPATCH_TIMEOUT", 60, "seconds"),
            outbox_lease=_duration(environ, "PORTAL_OUTBOX_LEASE", 20, "seconds"),
            console_idle_minutes=_duration(environ, "PORTAL_CONSOLE_IDLE_MINUTES", 30, "minutes"),
            console_absolute_hours=_duration(environ, "PORTAL_CONSOLE_ABSOLUTE_HOURS", 12, "hours"),
            console_concurrent_sessions=_flag(environ, "PORTAL_CONSOLE_CONCURRENT_SESSIONS"),
            acknowledge_within=_duration(environ, "PORTAL_ACKNOWLEDGE_WITHIN", 180, "seconds"),
            # Up to a century: further back than that, date arithmetic leaves the calendar.
            request_retention_days=_whole_number(
                environ, "PORTAL_REQUEST_RETENTION_DAYS", 365, "days", least=1, most=36500
            ),
            follow_up_days=_whole_number(environ, "PORTAL_FOLLOW_UP_DAYS", 2, "days", least=1, most=3),
            trusted_proxies=_whole_number(environ, "PORTAL_TRUSTED_PROXIES", 0, "proxies", least=0, most=10),
            argon2_cost=argon2_cost,
        )


def load(instance_path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(os.environ if environ is None else environ, instance_path)
