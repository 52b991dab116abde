"""Fixtures built through the app factory, and a guard against network calls."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from tests.fake_twilio import FakeTwilio

IN_CI = os.environ.get("CI", "").lower() == "true"


def make_environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Settings for a test app: fixed secrets, a throw-away SQLite database."""
    environ = {
        "PORTAL_ENV": "development",
        "PORTAL_SECRET_KEY": "test-secret-key",
        "PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PORTAL_HASH_KEY": "test-hash-key",
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "PORTAL_SMS_BACKEND": "console",
        # Cheap argon2id costs: a console password is checked in a millisecond, not 0.1 s.
        "PORTAL_PASSWORD_HASH_COST": "test",
    }
    environ.update(overrides)
    return environ


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path: local by definition
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches beyond this machine: every service a test needs is local."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(real):  # type: ignore[no-untyped-def]
        def connect(self: socket.socket, address: object) -> object:
            if not _is_loopback(address):
                raise AssertionError(f"unexpected network call to {address!r}")
            return real(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """The local fake Twilio API, spoken to over HTTP by the real twilio client."""
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def line(tmp_path: Path, fake_twilio: FakeTwilio) -> Flask:
    """A migrated app on the text line's settings, sending through the fake API."""
    from tests.text_line_helpers import make_text_line_app

    return make_text_line_app(tmp_path, fake_twilio)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path))
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


POSTGRES_ADMIN_URL = os.environ.get("PORTAL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _server_needed(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if IN_CI:
        pytest.fail(message + ": CI must run these tests")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import uuid

    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        _server_needed("PostgreSQL", error)
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield (
                POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                + "/"
                + name
            )
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrated_app(app: Flask) -> Iterator[Flask]:
    """The test app with its SQLite database built by the migrations."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    yield app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A migrated app on SQLite, then on PostgreSQL: storage must behave the same on both."""
    from flask_migrate import upgrade

    overrides = {}
    if request.param == "postgresql":
        overrides["PORTAL_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, **overrides))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()


REDIS_URL = os.environ.get("PORTAL_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The local Redis server (database 15, emptied before and after the test)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.ConnectionError as error:
        _server_needed("Redis", error)
    yield REDIS_URL
    client.flushdb()
