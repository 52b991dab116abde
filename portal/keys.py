"""`flask --app portal keys rotate`: re-encrypt every encrypted value with the newest key.

Rotation: put the new key first in PORTAL_ENCRYPTION_KEYS (keep the old ones after it),
restart, run `keys rotate`, then remove the old keys.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import LargeBinary, Text, column, select, table, update

from portal.crypto import EncryptedBytes, EncryptedJSON, EncryptedText, vault
from portal.extensions import db

ENCRYPTED_TYPES = (EncryptedBytes, EncryptedJSON, EncryptedText)

keys_cli = AppGroup("keys", help="Encryption key rotation.")


def rotate_all() -> int:
    """Re-encrypt every encrypted column in place; returns how many values changed."""
    rotated = 0
    for model_table in db.metadata.sorted_tables:
        (key_column,) = model_table.primary_key.columns
        for encrypted in (c for c in model_table.columns if isinstance(c.type, ENCRYPTED_TYPES)):
            # Read and write the stored tokens as they are, without the decrypting type.
            raw_type = LargeBinary() if isinstance(encrypted.type, EncryptedBytes) else Text()
            raw = table(model_table.name, column(key_column.name), column(encrypted.name, raw_type))
            rows = db.session.execute(select(raw.c[key_column.name], raw.c[encrypted.name])).all()
            for key, token in rows:
                if token is None:
                    continue
                as_bytes = token if isinstance(token, bytes) else token.encode()
                new = vault().rotate(as_bytes)
                value = new if isinstance(token, bytes) else new.decode()
                db.session.execute(
                    update(raw).where(raw.c[key_column.name] == key).values({encrypted.name: value})
                )
                rotated += 1
    db.session.commit()
    return rotated


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Re-encrypt all stored personal data with the first key of PORTAL_ENCRYPTION_KEYS."""
    count = rotate_all()
    click.echo(f"Re-encrypted {count} values with the newest key. The older keys can now be removed.")


def init_app(app: Flask) -> None:
    app.cli.add_command(keys_cli)
