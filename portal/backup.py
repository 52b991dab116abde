"""Backups of the portal's database: `backup`, `restore` and `check-database`.

SQLite is copied with its online backup API: one read transaction, so the copy is the
database as it was at one moment, the write-ahead log included, while the web app and
the workers go on writing. PostgreSQL is backed up with pg_dump and restored with
pg_restore (docs/operations.md); `check-database` checks either afterwards.

The copy holds personal data encrypted with PORTAL_ENCRYPTION_KEYS and phones hashed
with PORTAL_HASH_KEY. The keys are not in it: without them a backup cannot be read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import InvalidToken
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection, Engine, LargeBinary, Text, column, create_engine, func, select, table
from sqlalchemy.exc import DatabaseError

from portal.crypto import EncryptedBytes, vault
from portal.database import READING_ONLY, utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.health import HEARTBEAT_STALE
from portal.keys import ENCRYPTED_TYPES
from portal.phones import phone_index
from portal.plans.models import CrisisPlan, PlanPhone
from portal.worker import latest_heartbeat

# A worker beats every few seconds: one seen this recently is still running.
WORKER_STILL_RUNNING = HEARTBEAT_STALE  # as /healthz tells a running worker
# Row ids named per column whose values do not decrypt (ids are not personal data).
IDS_SHOWN = 5
HASHES_SAMPLED = 100


def check_database(connection: Connection) -> list[str]:
    """The app's integrity checks; returns the problems found (none: the database is sound).

    SQLite's own checks of the file and of every foreign key, the schema at the code's
    newest migration, every encrypted value readable with PORTAL_ENCRYPTION_KEYS, and
    phones hashed with PORTAL_HASH_KEY.
    """
    problems: list[str] = []
    try:
        if connection.dialect.name == "sqlite":
            verdict = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                return [f"SQLite integrity check: {line}" for line in verdict[:10]]
            orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            for table_name, rowid, parent, _ in orphans[:10]:
                problems.append(f"{table_name} row {rowid} points to a missing {parent} row")
        problems += _check_revision(connection)
        if problems:
            return problems  # the tables may not be the code's: decrypting means nothing yet
        # Phones are hashed again from their decrypted numbers: only once those decrypt.
        return _check_decryption(connection) or _check_hash_key(connection)
    except DatabaseError as error:
        return [*problems, f"not a readable portal database ({error.orig})"]


def _check_revision(connection: Connection) -> list[str]:
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    expected = set(scripts.get_heads())
    found = set(MigrationContext.configure(connection).get_current_heads())
    if not found:
        return ["not a portal database: it has no migration revision (alembic_version)"]
    if found != expected:
        return [
            f"the schema is at migration {', '.join(sorted(found))}, this code expects "
            f"{', '.join(sorted(expected))}: use the portal version that matches it "
            "(then `flask --app portal db upgrade`)"
        ]
    return []


def _check_decryption(connection: Connection) -> list[str]:
    """Every encrypted value, read as stored and decrypted with PORTAL_ENCRYPTION_KEYS."""
    problems = []
    for model_table in db.metadata.sorted_tables:
        (key_column,) = model_table.primary_key.columns
        for encrypted in (c for c in model_table.columns if isinstance(c.type, ENCRYPTED_TYPES)):
            raw_type = LargeBinary() if isinstance(encrypted.type, EncryptedBytes) else Text()
            raw = table(model_table.name, column(key_column.name), column(encrypted.name, raw_type))
            query = select(raw.c[key_column.name], raw.c[encrypted.name]).where(
                raw.c[encrypted.name].is_not(None)
            )
            failed, total = [], 0
            # A few rows at a time: photos are large.
            for key, token in connection.execution_options(yield_per=200).execute(query):
                total += 1
                try:
                    vault().decrypt(token if isinstance(token, bytes) else token.encode())
                except InvalidToken:
                    failed.append(key)
            if failed:
                shown = ", ".join(str(key) for key in failed[:IDS_SHOWN])
                problems.append(
                    f"{model_table.name}.{encrypted.name}: {len(failed)} of {total} values do not "
                    f"decrypt with PORTAL_ENCRYPTION_KEYS (rows {shown}{', ...' if len(failed) > IDS_SHOWN else ''})"
                )
    return problems


def _check_hash_key(connection: Connection) -> list[str]:
    """Phones are found by their keyed hash: with another PORTAL_HASH_KEY no plan is found
    by phone, silently. A sample of plan phones, hashed again, must match."""
    sample = (
        select(PlanPhone.number, PlanPhone.number_index).order_by(PlanPhone.id.desc()).limit(HASHES_SAMPLED)
    )
    if all(phone_index(number) == index for number, index in connection.execute(sample)):
        return []
    return ["plan phones were hashed with another PORTAL_HASH_KEY: no plan would be found by phone"]


def counts(connection: Connection) -> str:
    plans = connection.scalar(select(func.count()).select_from(CrisisPlan.__table__))
    requests = connection.scalar(select(func.count()).select_from(CitRequest.__table__))
    return f"crisis plans: {plans}, CIT requests: {requests}"


@contextlib.contextmanager
def sqlite_file(path: Path) -> Iterator[Connection]:
    """A backup file, opened read-only: checking it never changes it."""
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def reading(engine: Engine) -> Connection:
    """A connection to the live database that takes no write lock: checks never hold up the webhook."""
    return engine.connect().execution_options(**{READING_ONLY: True})


def worker_running() -> bool:
    try:
        beat = latest_heartbeat()
    except DatabaseError:
        return False  # an empty or broken database: nothing is running on it
    finally:
        db.session.remove()
    return beat is not None and utcnow() - beat < WORKER_STILL_RUNNING


def live_sqlite_path() -> Path:
    """The configured SQLite database's file; PostgreSQL has its own tools."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            "The database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
            "(docs/operations.md, 'Backups'), then check it with `flask --app portal check-database`."
        )
    if not url.database or url.database == ":memory:":
        raise click.ClickException("The database is in memory: there is no file to back up.")
    return Path(url.database)


def backup_sqlite(destination: Path) -> None:
    """Copy the live database into `destination`, readable by its owner only.

    Written under a temporary name and renamed, so `destination` is never half a copy.
    """
    temporary = destination.with_name(f".{destination.name}.partial")
    temporary.unlink(missing_ok=True)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        target = sqlite3.connect(temporary)
        try:
            # The app's own connection: its busy timeout, and the WAL read with the file.
            source = db.engine.raw_connection()
            try:
                source.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                source.close()
            # A copy of a WAL database is in WAL mode: made one self-contained file.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def restore_sqlite(source: Path, live: Path) -> None:
    """Copy the backup into the live database through SQLite, which keeps it in WAL mode."""
    if not live.exists():
        os.close(os.open(live, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    origin = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(live, timeout=30)
    try:
        origin.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        origin.close()


def check_or_fail(connection: Connection, what: str) -> None:
    problems = check_database(connection)
    if problems:
        raise click.ClickException(f"{what} fails the checks:\n  " + "\n  ".join(problems))


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the portal runs, then check the copy."""
    live = live_sqlite_path()
    if path.resolve() == live.resolve():
        raise click.ClickException(f"{path} is the database itself: name another file.")
    if not path.absolute().parent.is_dir():
        raise click.ClickException(f"{path.absolute().parent}: no such directory.")
    try:
        backup_sqlite(path.absolute())
    except (OSError, sqlite3.Error) as error:  # a full disk, a directory we may not write
        raise click.ClickException(f"The backup could not be written: {error}") from error
    with sqlite_file(path) as copy:
        check_or_fail(copy, f"The backup {path} was written, but it")
        click.echo(f"Backed up {live} to {path} ({counts(copy)}); the checks pass.")
    click.echo(
        "The encryption and hash keys are not in the backup: keep PORTAL_ENCRYPTION_KEYS and "
        "PORTAL_HASH_KEY safe apart from it, or it cannot be read."
    )


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database with the backup.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH, once it passes the checks."""
    live = live_sqlite_path()
    if path.resolve() == live.resolve():
        raise click.ClickException(f"{path} is the database itself: name a backup.")
    with sqlite_file(path) as copy:
        check_or_fail(copy, f"The backup {path}")
        contents = counts(copy)
    if not yes:
        raise click.ClickException(
            f"The backup {path} passes the checks ({contents}). Restoring it replaces everything "
            f"in {live}. Stop the web app and every worker first, then run this again with --yes."
        )
    # A missing database is made by restore_sqlite, readable by its owner only; asking it
    # for heartbeats first would make it with the default mode.
    if live.exists() and worker_running():
        raise click.ClickException(
            f"A worker was running less than {WORKER_STILL_RUNNING.seconds} seconds ago: stop every "
            f"worker (and the web app), wait {WORKER_STILL_RUNNING.seconds} seconds, then run this again."
        )
    db.session.remove()
    db.engine.dispose()  # this process's connections would keep the old pages cached
    try:
        restore_sqlite(path, live)
    except sqlite3.DatabaseError as error:  # locked by a running process, or damaged past reading
        raise click.ClickException(
            f"{live} could not be written ({error}). Stop everything that uses it; if it is damaged, "
            f"move it and its -wal and -shm files aside, then run this again: the backup is restored "
            f"into a new file."
        ) from error
    with reading(db.engine) as connection:
        check_or_fail(connection, f"The restored database {live}")
    click.echo(
        f"Restored {path} into {live} ({contents}); the checks pass. Start the web app and the workers."
    )


@click.command("check-database")
@with_appcontext
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_database_command(path: Path | None) -> None:
    """Check the configured database (or the SQLite backup at PATH): integrity, schema, keys."""
    with sqlite_file(path) if path else reading(db.engine) as connection:
        check_or_fail(connection, str(path) if path else "The database")
        click.echo(f"The checks pass ({counts(connection)}).")


def init_app(app: Flask) -> None:
    for command in (backup_command, restore_command, check_database_command):
        app.cli.add_command(command)
