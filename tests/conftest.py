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
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path))
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
