import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from portal import create_app
from portal.settings import SettingsError, load
from tests.conftest import make_environ

PRODUCTION = {
    "PORTAL_ENV": "production",
    "PORTAL_SECRET_KEY": "s" * 64,
    "PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "PORTAL_HASH_KEY": "h" * 64,
    "PORTAL_PUBLIC_URL": "https://pin.example.org",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": "+13145550100",
    "PORTAL_DISPATCH_NUMBERS": "+13145550111,+13145550112",
}


def test_production_starts_with_everything_set(tmp_path: Path) -> None:
    settings = load(tmp_path, PRODUCTION)
    assert settings.production
    assert settings.sms_backend == "twilio"
    assert settings.dispatch_numbers == ("+13145550111", "+13145550112")
    assert settings.twilio_notices_from_number == "+13145550100"
    assert not list(tmp_path.iterdir()), "production must not invent secrets on disk"


@pytest.mark.parametrize(
    "missing",
    [
        "PORTAL_SECRET_KEY",
        "PORTAL_ENCRYPTION_KEYS",
        "PORTAL_HASH_KEY",
        "PORTAL_PUBLIC_URL",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "PORTAL_DISPATCH_NUMBERS",
    ],
)
def test_production_refuses_to_start_without(missing: str, tmp_path: Path) -> None:
    environ = {name: value for name, value in PRODUCTION.items() if name != missing}
    with pytest.raises(SettingsError):
        create_app(environ=environ)


def test_production_refuses_plain_http_and_the_console_backend(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="https"):
        load(tmp_path, {**PRODUCTION, "PORTAL_PUBLIC_URL": "http://pin.example.org"})
    with pytest.raises(SettingsError, match="console"):
        load(tmp_path, {**PRODUCTION, "PORTAL_SMS_BACKEND": "console"})


def test_a_malformed_encryption_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Fernet"):
        load(tmp_path, {**PRODUCTION, "PORTAL_ENCRYPTION_KEYS": "not-a-key"})


def test_development_generates_its_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = load(tmp_path, {})
    second = load(tmp_path, {})
    assert first.secret_key == second.secret_key
    assert first.encryption_keys == second.encryption_keys
    assert first.hash_key == second.hash_key
    assert first.sms_backend == "console"
    assert first.database_url == f"sqlite:///{tmp_path / 'portal.db'}"
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "secrets must be private to the owner"


def test_encryption_keys_keep_their_order_for_rotation(tmp_path: Path) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = load(tmp_path, {"PORTAL_ENCRYPTION_KEYS": f"{new}, {old}"})
    assert settings.encryption_keys == (new, old)


# A bad value stops start-up with a message naming the variable and what it expects.
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        # Numbers of seconds, minutes, hours: more than 0, at most a year.
        (
            "PORTAL_DISPATCH_TIMEOUT",
            "60s",
            "PORTAL_DISPATCH_TIMEOUT must be a number of seconds, like 60, not '60s'",
        ),
        ("PORTAL_DISPATCH_TIMEOUT", "0", "PORTAL_DISPATCH_TIMEOUT must be more than 0 seconds, not '0'"),
        ("PORTAL_OUTBOX_LEASE", "-5", "PORTAL_OUTBOX_LEASE must be more than 0 seconds, not '-5'"),
        (
            "PORTAL_ACKNOWLEDGE_WITHIN",
            "nan",
            "PORTAL_ACKNOWLEDGE_WITHIN must be a number of seconds, like 180",
        ),
        ("PORTAL_ACKNOWLEDGE_WITHIN", "1e20", "PORTAL_ACKNOWLEDGE_WITHIN must be at most a year"),
        (
            "PORTAL_CONSOLE_IDLE_MINUTES",
            "half an hour",
            "PORTAL_CONSOLE_IDLE_MINUTES must be a number of minutes, like 30",
        ),
        (
            "PORTAL_CONSOLE_ABSOLUTE_HOURS",
            "12h",
            "PORTAL_CONSOLE_ABSOLUTE_HOURS must be a number of hours, like 12, not '12h'",
        ),
        # Whole numbers, within their range.
        (
            "PORTAL_REQUEST_RETENTION_DAYS",
            "365.5",
            "PORTAL_REQUEST_RETENTION_DAYS must be a whole number of days, like 365, not '365.5'",
        ),
        (
            "PORTAL_REQUEST_RETENTION_DAYS",
            "0",
            "PORTAL_REQUEST_RETENTION_DAYS must be from 1 to 36500 days, not '0'",
        ),
        ("PORTAL_TRUSTED_PROXIES", "-1", "PORTAL_TRUSTED_PROXIES must be from 0 to 10 proxies, not '-1'"),
        (
            "PORTAL_TRUSTED_PROXIES",
            "one",
            "PORTAL_TRUSTED_PROXIES must be a whole number of proxies, like 0, not 'one'",
        ),
        # Booleans: a typing mistake is refused, not read as false.
        (
            "PORTAL_CONSOLE_CONCURRENT_SESSIONS",
            "ture",
            "PORTAL_CONSOLE_CONCURRENT_SESSIONS must be true or false, not 'ture'",
        ),
        (
            "PORTAL_CONSOLE_CONCURRENT_SESSIONS",
            "enabled",
            "PORTAL_CONSOLE_CONCURRENT_SESSIONS must be true or false",
        ),
        # Region codes that phonenumbers knows.
        (
            "PORTAL_SMS_COUNTRIES",
            "US,USA",
            "PORTAL_SMS_COUNTRIES must be two-letter region codes separated by commas, like US,CA, not 'USA'",
        ),
        ("PORTAL_SMS_COUNTRIES", "XX", "PORTAL_SMS_COUNTRIES must be two-letter region codes"),
        # URLs.
        (
            "PORTAL_PUBLIC_URL",
            "pin.example.org",
            "PORTAL_PUBLIC_URL must be an http or https URL, like https://example.org, not 'pin.example.org'",
        ),
        ("PORTAL_TWILIO_API_URL", "api.twilio.com", "PORTAL_TWILIO_API_URL must be an http or https URL"),
        (
            "PORTAL_TWILIO_API_URL",
            "http://127.0.0.1:port",
            "PORTAL_TWILIO_API_URL must be an http or https URL",
        ),
        (
            "PORTAL_REDIS_URL",
            "127.0.0.1:6379",
            "PORTAL_REDIS_URL must be a Redis URL, like redis://127.0.0.1:6379/0",
        ),
        (
            "PORTAL_DATABASE_URL",
            "postgres://portal@db/portal",
            "PORTAL_DATABASE_URL must be an SQLite or PostgreSQL URL",
        ),
        (
            "PORTAL_DATABASE_URL",
            "mysql+pymysql://portal@db/portal",
            "PORTAL_DATABASE_URL must be an SQLite or PostgreSQL URL",
        ),
        # Choices and files.
        ("PORTAL_ENV", "prod", "PORTAL_ENV must be development or production, not 'prod'"),
        ("PORTAL_SMS_BACKEND", "Twilio", "PORTAL_SMS_BACKEND must be twilio or console, not 'Twilio'"),
        (
            "PORTAL_PASSWORD_HASH_COST",
            "cheap",
            "PORTAL_PASSWORD_HASH_COST must be default or test, not 'cheap'",
        ),
        (
            "PORTAL_AGENCY_FILE",
            "/nowhere/agency.toml",
            "PORTAL_AGENCY_FILE must name an agency.toml file; there is none at /nowhere/agency.toml",
        ),
        ("TWILIO_ACCOUNT_SID", "AC123", "TWILIO_ACCOUNT_SID must be the account's SID"),
    ],
)
def test_a_bad_value_is_refused_with_what_the_setting_expects(
    name: str, value: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as refused:
        load(tmp_path, {**PRODUCTION, "PORTAL_ENV": "development", name: value})
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_FROM_NUMBER", "(314) 555-0142"),  # as people write it, not E.164
        ("TWILIO_FROM_NUMBER", "+1 314 555 0142"),
        ("TWILIO_NOTICES_FROM_NUMBER", "+1314555014"),  # a digit short
        ("PORTAL_DISPATCH_NUMBERS", "+13145550111,3145550112"),
        ("PORTAL_FALLBACK_NUMBERS", "+13145550119;+13145550120"),
        ("PORTAL_SUPERVISOR_NUMBERS", "+11235550190"),  # no U.S. area code starts with 1
    ],
)
def test_a_phone_number_not_in_e164_is_refused_without_repeating_it(
    name: str, value: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as refused:
        load(tmp_path, {**PRODUCTION, name: value})
    message = str(refused.value)
    assert message.startswith(f"{name} must be ")
    assert "E.164" in message and "like +13145550100" in message
    # Start-up errors end up in logs: the number as given is not in the message, in any form.
    digits = "".join(character for character in value if character.isdigit())
    said = message.replace("+13145550100", "")
    assert digits[-7:] not in "".join(character for character in said if character.isdigit())


def test_the_message_says_which_number_of_a_list_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="number 2 of 3 is not"):
        load(tmp_path, {**PRODUCTION, "PORTAL_DISPATCH_NUMBERS": "+13145550111, 314-555-0112, +13145550113"})


def test_urls_that_may_hold_a_password_are_never_repeated(tmp_path: Path) -> None:
    for name, value in [
        ("PORTAL_DATABASE_URL", "postgres://portal:hunter2@db.example.org/portal"),
        ("PORTAL_REDIS_URL", "redis://:hunter2@cache.example.org:port/0"),
    ]:
        with pytest.raises(SettingsError) as refused:
            load(tmp_path, {**PRODUCTION, name: value})
        assert name in str(refused.value)
        assert "hunter2" not in str(refused.value)
        assert refused.value.__cause__ is None, "a chained library error could quote the URL"


@pytest.mark.parametrize(
    ("value", "concurrent"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("1", True),
        ("false", False),
        ("NO", False),
        ("0", False),
        ("", False),
    ],
)
def test_concurrent_sessions_take_true_or_false_in_their_usual_spellings(
    value: str, concurrent: bool, tmp_path: Path
) -> None:
    settings = load(tmp_path, {**PRODUCTION, "PORTAL_CONSOLE_CONCURRENT_SESSIONS": value})
    assert settings.console_concurrent_sessions is concurrent


def test_good_values_are_read_as_written(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {
            **PRODUCTION,
            "PORTAL_DISPATCH_TIMEOUT": "90",
            "PORTAL_OUTBOX_LEASE": "2.5",
            "PORTAL_ACKNOWLEDGE_WITHIN": " 120 ",
            "PORTAL_CONSOLE_IDLE_MINUTES": "15",
            "PORTAL_CONSOLE_ABSOLUTE_HOURS": "13",
            "PORTAL_REQUEST_RETENTION_DAYS": "730",
            "PORTAL_TRUSTED_PROXIES": "1",
            "PORTAL_SMS_COUNTRIES": "us, mx",
            "PORTAL_FALLBACK_NUMBERS": "+13145550119",
            "PORTAL_SUPERVISOR_NUMBERS": "+13145550190, +13145550191",
            "TWILIO_NOTICES_FROM_NUMBER": "+13145550101",
            "PORTAL_REDIS_URL": "redis://cache.example.org:6379/0",
            "PORTAL_DATABASE_URL": "postgresql+psycopg://portal@db.example.org/portal",
            "PORTAL_TWILIO_API_URL": "http://127.0.0.1:8765/",
        },
    )
    assert (settings.dispatch_timeout, settings.outbox_lease, settings.acknowledge_within) == (90, 2.5, 120)
    assert (settings.console_idle_minutes, settings.console_absolute_hours) == (15, 13)
    assert (settings.request_retention_days, settings.trusted_proxies) == (730, 1)
    assert settings.sms_countries == ("US", "MX")
    assert settings.fallback_numbers == ("+13145550119",)
    assert settings.supervisor_numbers == ("+13145550190", "+13145550191")
    assert settings.twilio_notices_from_number == "+13145550101"
    assert settings.twilio_api_url == "http://127.0.0.1:8765"


def test_unset_and_empty_settings_take_their_defaults(tmp_path: Path) -> None:
    for environ in (PRODUCTION, {**PRODUCTION, "PORTAL_DISPATCH_TIMEOUT": "", "PORTAL_SMS_COUNTRIES": ""}):
        settings = load(tmp_path, environ)
        assert settings.dispatch_timeout == 60
        assert settings.outbox_lease == 20
        assert settings.acknowledge_within == 180
        assert (settings.console_idle_minutes, settings.console_absolute_hours) == (30, 12)
        assert settings.console_concurrent_sessions is False
        assert settings.request_retention_days == 365
        assert settings.trusted_proxies == 0
        assert settings.sms_countries == ("US", "CA")


def test_a_command_with_a_bad_setting_exits_naming_the_variable(tmp_path: Path) -> None:
    flask = Path(sys.executable).with_name("flask")
    # The test's own settings only: neither the developer's environment nor a .env file.
    base = {key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "TWILIO_"))}
    environ = {**base, **make_environ(tmp_path), "FLASK_SKIP_DOTENV": "1"}

    good = subprocess.run(
        [str(flask), "--app", "portal", "routes"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert "/sms/inbound" in good.stdout

    bad = subprocess.run(
        [str(flask), "--app", "portal", "routes"],
        env={**environ, "PORTAL_DISPATCH_TIMEOUT": "60s"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0
    assert "PORTAL_DISPATCH_TIMEOUT must be a number of seconds, like 60, not '60s'" in bad.stderr
    assert "/sms/inbound" not in bad.stdout


# Every variable in docs/settings.md (tests/test_settings_table.py: the ones the code reads).
SETTINGS_READ = re.findall(
    r"^\| `((?:PORTAL|TWILIO)_[A-Z0-9_]+)` \|",
    (Path(__file__).parent.parent / "docs" / "settings.md").read_text(),
    re.M,
)
# Values near the ones that parse: URLs with odd ports, numbers in other forms.
NEAR_MISSES = [
    *("1e400", "-0", "0x10", "١٢٠", "1_000", " ", "+", "+1", "+1 ", "US,,CA", "http://[::1", "https://:0"),
    *("redis://h:port/0", "rediss://", "unix://", "postgresql+psycopg://u@h:port/db", "sqlite:///"),
]


def test_a_near_miss_in_any_setting_is_read_or_refused_never_a_crash(tmp_path: Path) -> None:
    for name in SETTINGS_READ:
        for value in NEAR_MISSES:
            # Refused with a message, not a ValueError from deep inside a library.
            with contextlib.suppress(SettingsError):
                load(tmp_path, {**PRODUCTION, name: value})
    assert len(SETTINGS_READ) >= 27


@hyp_settings(max_examples=300, deadline=None, database=None)
@given(name=st.sampled_from(SETTINGS_READ), value=st.text(st.characters(blacklist_characters="\x00")))
def test_any_value_either_starts_or_is_refused_as_a_settings_error(name: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as instance, contextlib.suppress(SettingsError):
        load(Path(instance), {**PRODUCTION, name: value})
