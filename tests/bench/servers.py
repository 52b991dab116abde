"""The processes a bench measures: the portal and the two ceilings under one gunicorn
configuration, on a throw-away SQLite file or PostgreSQL database."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

BIN = Path(sys.executable).parent
# The same for the portal and both ceilings: three sync workers, as in production.
GUNICORN = ["-w", "3", "-k", "sync", "--log-level", "warning"]
PUBLIC_URL = "https://cit.bench.invalid"
LINE = "+13145550100"
DISPATCH = ("+13145550111", "+13145550112")
POSTGRES_ADMIN_URL = os.environ.get("PORTAL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")


def bench_environ(database_url: str, twilio_url: str) -> dict[str, str]:
    """Production settings with fixed bench secrets, texting through the fake Twilio."""
    environ = dict(os.environ)
    environ.update(
        PORTAL_ENV="production",
        PORTAL_SECRET_KEY="bench-secret-key-not-a-secret",
        PORTAL_ENCRYPTION_KEYS=base64.urlsafe_b64encode(b"call-for-the-pin-bench-key-00000").decode(),
        PORTAL_HASH_KEY="bench-hash-key-not-a-secret",
        PORTAL_PUBLIC_URL=PUBLIC_URL,
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=LINE,
        PORTAL_TWILIO_API_URL=twilio_url,
        PORTAL_DISPATCH_NUMBERS=",".join(DISPATCH),
    )
    if redis_reachable():
        environ["PORTAL_REDIS_URL"] = REDIS_URL
    return environ


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Database:
    kind: str  # sqlite or postgresql
    url: str  # SQLAlchemy URL
    # For the webhook ceiling: a SQLite file path or a libpq URL.
    raw: str


@contextmanager
def database(kind: str, folder: Path) -> Iterator[Database]:
    """An empty database of this kind, dropped afterwards."""
    if kind == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield Database(kind, f"sqlite:///{path}", str(path))
        return
    import psycopg

    name = f"portal_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        raw = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        try:
            yield Database(kind, raw.replace("postgresql://", "postgresql+psycopg://"), raw)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def migrate(environ: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "portal", "db", "upgrade"],
        env=environ,
        check=True,
        capture_output=True,
    )


@dataclass
class Server:
    url: str
    pid: int  # gunicorn's master process

    def cpu_seconds(self) -> float:
        """Processor time its workers have used so far (user and system), read from /proc:
        what a request costs, whatever else the machine is doing."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a process that ended meanwhile
            if int(fields[1]) == self.pid:  # its parent is the master: a worker
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(app: str, environ: dict[str, str], log: Path) -> Iterator[Server]:
    """Serve `app` (a gunicorn app spec) on a free port."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), *GUNICORN, "-b", f"127.0.0.1:{port}", app],
            env=environ,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url, process, log)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped at start:\n{log.read_text()[-3000:]}")
        try:
            with urlopen(url + "/", timeout=5):
                return
        except HTTPError:
            return  # it answers: up
        except (URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")
