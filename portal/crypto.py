"""Field-level encryption at rest and the keyed hash (blind index) used to find phones.

Values are encrypted with MultiFernet: the newest key in PORTAL_ENCRYPTION_KEYS encrypts,
every listed key decrypts, so keys can be rotated (`flask keys rotate` re-encrypts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app
from sqlalchemy import LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class Vault:
    def __init__(self, encryption_keys: tuple[str, ...], hash_key: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in encryption_keys])
        self._hash_key = hash_key.encode()

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: bytes) -> bytes:
        """The same plaintext, encrypted again with the newest key."""
        return self._fernet.rotate(token)

    def blind_index(self, value: str) -> str:
        """A keyed hash: equal values match, but the index alone reveals nothing."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def vault() -> Vault:
    return current_app.extensions["vault"]  # type: ignore[no-any-return]


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes stored as a Fernet token."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else vault().encrypt(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else vault().decrypt(value)


class EncryptedText(TypeDecorator[str]):
    """Text stored as a Fernet token (ASCII)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else vault().encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else vault().decrypt(value.encode()).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored as one Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return vault().encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(vault().decrypt(value.encode()))
