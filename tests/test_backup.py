"""Backups an operator can trust: `flask --app portal backup` copies SQLite while texts keep
arriving, `restore` refuses anything that would not work and replaces the database only
when told to, and a PostgreSQL dump restored with pg_restore passes the same checks."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.backup import check_database
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.plans.services import file_plan, find_plan_by_reference, find_plans_by_phone
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fake_twilio import FakeTwilio
from tests.process_helpers import (
    BIN,
    free_port,
    log_tail,
    post_text,
    text_params,
    wait_for,
    wait_serving,
    web_server,
)
from tests.text_line_helpers import (
    make_text_line_app,
    reply_text,
    running_worker,
    send_text,
    text_line_environ,
)

FLASK = [str(BIN / "flask"), "--app", "portal"]
PLAN_PHONE = "+13145550144"


def flask_command(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A `flask --app portal` command, run as an operator runs it."""
    return subprocess.run(
        [*FLASK, *args], env={**os.environ, **environ}, capture_output=True, text=True, timeout=120
    )


def references(app: Flask) -> set[str]:
    with app.app_context():
        found = set(db.session.scalars(select(CitRequest.reference)))
        db.session.remove()
        db.engine.dispose()
    return found


def problems(app: Flask) -> list[str]:
    with app.app_context():
        with db.engine.connect() as connection:
            found = check_database(connection)
        db.engine.dispose()
    return found


def request_texted(app: Flask, sender: str) -> str:
    """A texter asks for a CIT officer at a street address; returns the request's reference."""
    reply = reply_text(send_text(app.test_client(), "PIN 4500 Main St", sender=sender))
    assert "sent to 911 dispatch" in reply, reply
    return reply.split("Request ", 1)[1].split()[0]


def dump(path: Path) -> list[str]:
    """The database's whole content as SQL: what a user of it would see."""
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def live_path(app: Flask) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def test_a_backup_taken_while_texts_arrive_restores_every_answered_request(tmp_path: Path) -> None:
    fake = FakeTwilio().start()
    environ = text_line_environ(tmp_path, fake)
    app = make_text_line_app(tmp_path, fake, environ)
    log = tmp_path / "web.log"
    port = free_port()
    server = web_server("web", port, environ, log, workers=2)
    # When each text was posted and its answer came, and the request's reference.
    answered: list[tuple[float, float, str]] = []
    failures: list[int | None] = []
    stop = threading.Event()

    def texter(number: int) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            sender = f"+1314{5700000 + number * 10_000 + n:07d}"
            posted = time.monotonic()
            answer = post_text(port, text_params(sender, f"PIN {n + 1} Main St", "SM" + uuid.uuid4().hex))
            if answer.status == 200 and answer.reference:
                answered.append((posted, time.monotonic(), answer.reference))
            else:
                failures.append(answer.status)

    texters = [threading.Thread(target=texter, args=(number,)) for number in range(3)]
    backup = tmp_path / "backups" / "portal-backup.db"
    backup.parent.mkdir()
    try:
        wait_serving(port, log)
        for thread in texters:
            thread.start()
        assert wait_for(lambda: len(answered) >= 30, 60), log_tail(log)
        # In this process, so that the copy starts at once: the texts answered just
        # before are still only in SQLite's write-ahead log.
        began = time.monotonic()
        taken = app.test_cli_runner().invoke(args=["backup", str(backup)])
        ended = time.monotonic()
        assert wait_for(lambda: answered[-1][0] > ended + 1, 30), log_tail(log)
    finally:
        stop.set()
        for thread in texters:
            thread.join(timeout=30)
        server.stop()
        fake.stop()

    assert taken.exit_code == 0, taken.output
    assert "the checks pass" in taken.output
    assert not failures, f"the webhook failed during the backup: {failures}"
    during = [reference for posted, at, reference in answered if posted < ended and at > began]
    assert during, "no text was in flight while the backup ran: it proves nothing"
    before = {reference for _, at, reference in answered if at < began}
    after = {reference for posted, _, reference in answered if posted > ended}

    # A new machine: the same keys, an empty directory.
    restored_environ = {**environ, "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'portal.db'}"}
    (tmp_path / "new").mkdir()
    restored = flask_command(restored_environ, "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    restored_app = create_app({"TESTING": True}, environ=restored_environ)
    assert problems(restored_app) == []
    in_backup = references(restored_app)
    assert before <= in_backup, f"{len(before - in_backup)} answered requests missing from the backup"
    # One moment's copy: nothing texted after the backup finished is in it.
    assert not (after & in_backup)
    assert in_backup <= references(app)


@pytest.fixture
def texted_line(line: Flask) -> Flask:
    """The text line's database with two requests in it."""
    request_texted(line, "+13145550161")
    request_texted(line, "+13145550162")
    return line


def good_backup(app: Flask, path: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return path


def corrupt(backup: Path) -> None:
    """Scribble over the middle of the file, as a failing disk or a cut-off copy does."""
    data = bytearray(backup.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 8192] = b"\xa5" * 8192
    backup.write_bytes(bytes(data))


def damaged_index(backup: Path) -> None:
    """Two indexes of the requests swapped, as a half-written page can leave them: every
    row still reads, only SQLite's own integrity check finds it (and a search by status
    after the restore would find the wrong requests)."""
    connection = sqlite3.connect(backup)
    pages = dict(connection.execute("SELECT name, rootpage FROM sqlite_schema WHERE type = 'index'"))
    connection.execute("PRAGMA writable_schema = ON")
    status, created = "ix_cit_requests_status", "ix_cit_requests_created_at"
    connection.execute("UPDATE sqlite_schema SET rootpage = ? WHERE name = ?", (pages[created], status))
    connection.execute("UPDATE sqlite_schema SET rootpage = ? WHERE name = ?", (pages[status], created))
    connection.commit()
    connection.close()


def foreign(backup: Path) -> None:
    backup.unlink()
    other = sqlite3.connect(backup)
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    other.execute("INSERT INTO notes (body) VALUES ('not ours')")
    other.commit()
    other.close()


def older_schema(backup: Path) -> None:
    older = sqlite3.connect(backup)
    older.execute("UPDATE alembic_version SET version_num = '075f385fe062'")
    older.commit()
    older.close()


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (
            lambda path: path.write_text("name,phone\nsomeone,+13145550100\n"),
            "not a readable portal database",
        ),
        (lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 3]), "fails the checks"),
        (corrupt, "fails the checks"),
        (damaged_index, "SQLite integrity check"),
        (foreign, "not a portal database"),
        (older_schema, "this code expects"),
    ],
    ids=[
        "text-file",
        "cut-short",
        "scribbled-over",
        "damaged-index",
        "another-programs-database",
        "older-schema",
    ],
)
def test_restore_refuses_a_corrupt_or_foreign_file_and_leaves_the_database_untouched(
    texted_line: Flask, tmp_path: Path, spoil, expected: str
) -> None:
    backup = good_backup(texted_line, tmp_path / "backup.db")
    spoil(backup)
    live = live_path(texted_line)
    before = dump(live)

    result = texted_line.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert "Restored" not in result.output
    assert dump(live) == before
    assert len(references(texted_line)) == 2


def test_restore_refuses_a_backup_made_with_other_keys(
    texted_line: Flask, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    """Another agency's backup, or this one's with keys lost: nothing in it could be read."""
    other = make_text_line_app(
        tmp_path / "other",
        fake_twilio,
        PORTAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}",
    )
    request_texted(other, "+13145550163")
    backup = good_backup(other, tmp_path / "other-backup.db")
    live = live_path(texted_line)
    before = dump(live)

    result = texted_line.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code != 0
    assert "do not decrypt with PORTAL_ENCRYPTION_KEYS" in result.output
    assert "+1314555016" not in result.output  # no phone number, not even its own
    assert dump(live) == before


def test_restore_asks_for_yes_and_to_stop_the_portal_then_replaces_the_database(
    texted_line: Flask, tmp_path: Path
) -> None:
    backup = good_backup(texted_line, tmp_path / "backup.db")
    kept = references(texted_line)
    lost = request_texted(texted_line, "+13145550164")  # after the backup
    live = live_path(texted_line)
    before = dump(live)
    runner = texted_line.test_cli_runner()

    asked = runner.invoke(args=["restore", str(backup)])
    assert asked.exit_code != 0
    assert "Stop the web app and every worker first" in asked.output
    assert "--yes" in asked.output
    assert dump(live) == before

    with running_worker(texted_line):
        assert wait_for_heartbeat(texted_line)
        refused = runner.invoke(args=["restore", str(backup), "--yes"])
    assert refused.exit_code != 0
    assert "A worker was running less than 15 seconds ago: stop every worker" in refused.output
    assert lost in references(texted_line)  # the worker delivered alerts meanwhile: not restored

    # The workers stopped: their last heartbeat ages, then the restore goes ahead.
    outputs: list[str] = []

    def restored() -> bool:
        result = runner.invoke(args=["restore", str(backup), "--yes"])
        outputs.append(result.output)
        return result.exit_code == 0

    assert wait_for(restored, 30, every=1), outputs[-1]
    assert "CIT requests: 2" in outputs[-1]
    assert references(texted_line) == kept
    assert lost not in references(texted_line)
    assert problems(texted_line) == []
    # Still in WAL mode, as the app wants it.
    assert sqlite3.connect(live).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_damaged_database_is_replaced_once_moved_aside(texted_line: Flask, tmp_path: Path) -> None:
    """The disaster restore: the live file no longer reads at all."""
    backup = good_backup(texted_line, tmp_path / "backup.db")
    kept = references(texted_line)
    live = live_path(texted_line)
    live.write_bytes(b"\x00damaged" * 4096)
    runner = texted_line.test_cli_runner()

    refused = runner.invoke(args=["restore", str(backup), "--yes"])
    assert refused.exit_code != 0
    assert "move it and its -wal and -shm files aside" in refused.output, refused.output

    aside = tmp_path / "damaged"
    aside.mkdir()
    for name in (live.name, f"{live.name}-wal", f"{live.name}-shm"):
        if (live.parent / name).exists():
            (live.parent / name).rename(aside / name)
    done = runner.invoke(args=["restore", str(backup), "--yes"])
    assert done.exit_code == 0, done.output
    assert references(texted_line) == kept
    assert problems(texted_line) == []
    assert stat.S_IMODE(live.stat().st_mode) == 0o600


def test_backup_and_restore_refuse_the_live_database_and_places_they_cannot_use(
    texted_line: Flask, tmp_path: Path
) -> None:
    live = live_path(texted_line)
    before = dump(live)
    runner = texted_line.test_cli_runner()
    for args in (["backup", str(live)], ["restore", str(live), "--yes"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert "is the database itself" in result.output
    missing = runner.invoke(args=["backup", str(tmp_path / "no-such-directory" / "backup.db")])
    assert missing.exit_code != 0 and "no such directory" in missing.output
    # A directory nobody may write in, even root (the tests may run as root).
    unwritable = runner.invoke(args=["backup", "/proc/backup.db"])
    assert unwritable.exit_code != 0 and "The backup could not be written" in unwritable.output
    assert dump(live) == before


def wait_for_heartbeat(app: Flask) -> bool:
    from portal.worker import latest_heartbeat

    def beating() -> bool:
        with app.app_context():
            beat = latest_heartbeat()
            db.session.remove()
        return beat is not None

    return wait_for(beating, 15)


def test_the_backup_file_is_readable_by_its_owner_only(texted_line: Flask, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    backup.write_text("last night's backup")
    backup.chmod(0o644)
    umask = os.umask(0o022)
    try:
        good_backup(texted_line, backup)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert os.listdir(tmp_path).count("backup.db") == 1
    assert not [name for name in os.listdir(tmp_path) if "partial" in name]
    # One self-contained file: no write-ahead log beside it to forget.
    assert sqlite3.connect(backup).execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_check_database_names_a_broken_foreign_key(texted_line: Flask, tmp_path: Path) -> None:
    backup = good_backup(texted_line, tmp_path / "backup.db")
    broken = sqlite3.connect(backup)  # foreign keys are off on a plain connection
    broken.execute("UPDATE request_messages SET cit_request_id = 999")
    broken.commit()
    broken.close()

    result = texted_line.test_cli_runner().invoke(args=["check-database", str(backup)])

    assert result.exit_code != 0
    assert "request_messages row" in result.output and "missing cit_requests row" in result.output


@contextmanager
def new_postgres_database() -> Iterator[str]:
    """An empty PostgreSQL database (libpq URL), dropped afterwards."""
    import psycopg

    name = f"portal_restored_{uuid.uuid4().hex[:12]}"
    # createdb, as docs/operations.md has it.
    subprocess.run(["/usr/bin/createdb", f"--maintenance-db={POSTGRES_ADMIN_URL}", name], check=True)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgresql_restore_drill(postgres_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    """pg_dump and pg_restore as docs/operations.md gives them; the restored database
    passes the app's checks and a plan reads back."""
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_DATABASE_URL=postgres_url)
    with app.app_context():
        plan = file_plan(
            {"person": {"name": "Dana Brooks"}, "crisis": {"what_helps": "Speak slowly, one officer"}},
            name="Dana Brooks",
            born=date(1985, 2, 3),
            language="en",
            cit_requested=True,
            filed_by="self",
            phones=[(PLAN_PHONE, "person")],
        )
        db.session.commit()
        reference = plan.reference
    request = request_texted(app, "+13145550165")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    dump_file = tmp_path / "portal.dump"
    source = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(
        ["/usr/bin/pg_dump", "--format=custom", f"--file={dump_file}", f"--dbname={source}"], check=True
    )

    with new_postgres_database() as target:
        subprocess.run(
            [
                "/usr/bin/pg_restore",
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={target}",
                str(dump_file),
            ],
            check=True,
        )
        environ = {
            **text_line_environ(tmp_path, fake_twilio),
            "PORTAL_ENCRYPTION_KEYS": app.config["PORTAL_SETTINGS"].encryption_keys[0],
            "PORTAL_DATABASE_URL": target.replace("postgresql://", "postgresql+psycopg://"),
        }
        checked = flask_command(environ, "check-database")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "crisis plans: 1, CIT requests: 1" in checked.stdout

        restored = create_app({"TESTING": True}, environ=environ)
        with restored.app_context():
            found = find_plan_by_reference(reference)
            assert found is not None
            assert found.details["crisis"]["what_helps"] == "Speak slowly, one officer"
            assert [p.reference for p in find_plans_by_phone(PLAN_PHONE)] == [reference]
            assert request in set(db.session.scalars(select(CitRequest.reference)))
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
def test_backup_and_restore_on_postgresql_point_to_pg_dump_and_pg_restore(
    postgres_url: str, tmp_path: Path
) -> None:
    environ = {
        "PORTAL_DATABASE_URL": postgres_url,
        "PORTAL_SECRET_KEY": "s",
        "PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PORTAL_HASH_KEY": "h",
        "PORTAL_SMS_BACKEND": "console",
    }
    backup = flask_command(environ, "backup", str(tmp_path / "backup.db"))
    assert backup.returncode != 0
    assert "pg_dump" in backup.stderr and "docs/operations.md" in backup.stderr
    assert not (tmp_path / "backup.db").exists()
    (tmp_path / "portal.dump").write_bytes(b"PGDMP")
    restore = flask_command(environ, "restore", str(tmp_path / "portal.dump"), "--yes")
    assert restore.returncode != 0
    assert "pg_restore" in restore.stderr and "docs/operations.md" in restore.stderr
