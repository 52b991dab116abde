"""Key rotation: re-encrypt the stored values with the newest key.

Rotation: put the new key first in PORTAL_ENCRYPTION_KEYS (keep the old ones after it),
restart, run `flask --app portal jobs run re-encrypt` (it re-encrypts what the older keys
hold, and may run beside the workers and the web servers), then remove the old keys.
`flask --app portal keys rotate` re-encrypts every value, whatever its key.
"""

from __future__ import annotations

import click
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Column, LargeBinary, Table, Text, column, select, table, update

from portal.crypto import EncryptedBytes, EncryptedJSON, EncryptedText, vault
from portal.database import rows_changed
from portal.extensions import db

ENCRYPTED_TYPES = (EncryptedBytes, EncryptedJSON, EncryptedText)
# Rows read and written a transaction: short transactions, so that the job never holds
# SQLite's write lock for long while the webhook waits.
BATCH = 500

keys_cli = AppGroup("keys", help="Encryption key rotation.")


def reencrypt_old() -> int:
    """The `re-encrypt` job: re-encrypt the values not under the newest key; returns how many.

    A second run finds none. Safe from several workers at once, and beside the
    application's own writes: a value is replaced only if it is still the token read.
    """
    return _reencrypt(everything=False)


def rotate_all() -> int:
    """Re-encrypt every encrypted value with the newest key; returns how many changed."""
    return _reencrypt(everything=True)


def _reencrypt(*, everything: bool) -> int:
    newest = Fernet(current_app.config["PORTAL_SETTINGS"].encryption_keys[0])
    changed = 0
    for model_table in db.metadata.sorted_tables:
        (key_column,) = model_table.primary_key.columns
        for encrypted in (c for c in model_table.columns if isinstance(c.type, ENCRYPTED_TYPES)):
            changed += _reencrypt_column(model_table, key_column, encrypted, newest, everything)
    return changed


def _reencrypt_column(
    model_table: Table,
    key_column: Column[object],
    encrypted: Column[object],
    newest: Fernet,
    everything: bool,
) -> int:
    # Read and write the stored tokens as they are, without the decrypting type.
    raw_type = LargeBinary() if isinstance(encrypted.type, EncryptedBytes) else Text()
    raw = table(model_table.name, column(key_column.name), column(encrypted.name, raw_type))
    key, token_column = raw.c[key_column.name], raw.c[encrypted.name]
    changed = 0
    last = None
    while True:
        batch = select(key, token_column).where(token_column.is_not(None)).order_by(key).limit(BATCH)
        if last is not None:
            batch = batch.where(key > last)
        rows = db.session.execute(batch).all()
        for row_key, token in rows:
            as_bytes = token if isinstance(token, bytes) else token.encode()
            if not everything and _under(newest, as_bytes):
                continue
            new = vault().rotate(as_bytes)
            value = new if isinstance(token, bytes) else new.decode()
            # Only if still the token read: never write back a value the application
            # (or another worker) changed in the meantime.
            same = update(raw).where(key == row_key, token_column == token).values({encrypted.name: value})
            changed += rows_changed(db.session, same)
        db.session.commit()
        if len(rows) < BATCH:
            return changed
        last = rows[-1][0]


def _under(fernet: Fernet, token: bytes) -> bool:
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Re-encrypt all stored personal data with the first key of PORTAL_ENCRYPTION_KEYS."""
    count = rotate_all()
    click.echo(f"Re-encrypted {count} values with the newest key. The older keys can now be removed.")


def init_app(app: Flask) -> None:
    app.cli.add_command(keys_cli)
