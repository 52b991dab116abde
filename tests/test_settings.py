from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.settings import SettingsError, load

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
