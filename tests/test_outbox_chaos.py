"""400 requests; two workers killed with SIGKILL at random moments and restarted; the
fake Twilio API failing 30% of sends (no message more than twice): every alert is
delivered and none is lost.

Duplicates: a worker killed after Twilio accepted a message but before the SID was
committed sends it again once its lease runs out. A worker sends up to SEND_AT_ONCE
messages at a time, so a kill repeats at most that many. The test counts them and
prints the count.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response

from portal.database import begin_reading, utcnow
from portal.extensions import db
from portal.messaging.outbox import SEND_AT_ONCE, OutboundMessage, claim_batch, renew_leases
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import DISPATCH, make_text_line_app, send_text, text_line_environ

REQUESTS = 400  # enough for ten kills mid-send; more only lengthens the run
KILLS = 10  # SIGKILLs at random moments while the alerts go out
KILL_EVERY = (0.5, 3.0)  # seconds between two kills
FAIL_RATIO = 0.3  # of the sends, answered 500 at random
# ... but no message more often than this: its retries wait 1-2 s, then 2-4 s; a fifth
# or sixth failure (a few of 800 alerts) would hold the run 30 to 60 s more for
# one message's backoff, and prove nothing the first retries do not.
FAILS_AT_MOST = 2


@dataclass
class FlakyTwilio(FakeTwilio):
    """The fake Twilio API answering FAIL_RATIO of sends with a 500, at most
    FAILS_AT_MOST times for one message (one number and body)."""

    failures: Counter[tuple[str, str]] = field(default_factory=Counter)

    def _answer(self, request: WsgiRequest) -> Response:
        if request.method == "POST" and request.path.endswith("/Messages.json"):
            form = parse_qs(request.get_data(as_text=True))  # kept for FakeTwilio to read again
            message = (form.get("To", [""])[0], form.get("Body", [""])[0])
            with self._lock:
                fail = self.failures[message] < FAILS_AT_MOST and random.random() < FAIL_RATIO
                if fail:
                    self.failures[message] += 1
                    self.attempts += 1
                    self.tried.append((message[0], time.monotonic()))
            if fail:
                return self._error(500, 20500, "Internal Server Error")
        return super()._answer(request)


def start_worker(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    flask = Path(sys.executable).with_name("flask")
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(flask), "--app", "portal", "worker"],
            env={**os.environ, **environ},
            stdout=output,
            stderr=output,
        )


def run_chaos(tmp_path: Path, **overrides: str) -> None:
    fake = FlakyTwilio().start()
    # Workers share the test app's settings, keys included; a short lease so that a
    # killed worker's messages are taken over within seconds.
    # No escalation or re-alert during the run: only the alerts themselves are counted.
    environ = text_line_environ(
        tmp_path,
        fake,
        PORTAL_OUTBOX_LEASE="3",
        PORTAL_DISPATCH_TIMEOUT="3600",
        PORTAL_ACKNOWLEDGE_WITHIN="3600",
        **overrides,
    )
    app: Flask = make_text_line_app(tmp_path, fake, environ)
    client = app.test_client()
    for number in range(REQUESTS):
        response = send_text(client, f"PIN {number + 1} Main St", sender=f"+1314555{number:04d}"[:12])
        assert response.status_code == 200
    with app.app_context():
        expected = db.session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.purpose == "dispatch_alert")
        )
    assert expected == REQUESTS * len(DISPATCH)

    def queued() -> int:
        with app.app_context():
            begin_reading(db.session)  # no write lock: the workers never wait behind this look
            waiting = db.session.scalar(
                select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "queued")
            )
            db.session.rollback()
        return int(waiting or 0)

    log = tmp_path / "workers.log"
    workers = [start_worker(environ, log) for _ in range(2)]
    kills = 0
    started = time.monotonic()
    next_kill = started + random.uniform(*KILL_EVERY)
    deadline = started + 240
    try:
        # Until every alert is out (looked at 5 times a second): a kill at random moments.
        while time.monotonic() < deadline and queued():
            time.sleep(0.2)
            if kills >= KILLS or time.monotonic() < next_kill:
                continue
            victim = random.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = start_worker(environ, log)
            next_kill = time.monotonic() + random.uniform(*KILL_EVERY)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=20)
        fake.stop()

    with app.app_context():
        alerts = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "dispatch_alert")
        ).all()
        statuses = Counter(alert.status for alert in alerts)
        wanted = Counter((alert.to_number, alert.body) for alert in alerts)
    received = Counter((message.to, message.body) for message in fake.messages if message.to in DISPATCH)
    lost = wanted - received
    duplicates = sum((received - wanted).values())
    print(
        f"\n{time.monotonic() - started:.0f} s, {len(alerts)} alerts, {kills} workers killed, {duplicates} duplicates, {fake.attempts} send attempts"
    )
    assert statuses == {"accepted": expected}, statuses
    assert not lost, f"{sum(lost.values())} alerts never reached the fake Twilio API"
    assert duplicates <= kills * SEND_AT_ONCE


@pytest.mark.slow
def test_no_alert_lost_with_workers_killed_on_sqlite(tmp_path: Path) -> None:
    run_chaos(tmp_path)


@pytest.mark.parametrize("step", ["claim", "renewal"])
def test_a_lease_counts_from_when_the_worker_has_the_database(tmp_path: Path, step: str) -> None:
    """A worker that waited for SQLite's write lock to claim (or renew) its messages
    holds them for the whole lease from then on, not for what was left of it: a living
    worker whose lease ran out while it waited would see another worker send its
    messages again (a duplicate alert with no worker killed)."""
    lease = timedelta(seconds=3)
    fake = FakeTwilio().start()  # the settings need its URL; nothing is sent to it
    app = make_text_line_app(tmp_path, fake, PORTAL_OUTBOX_LEASE="3")
    fake.stop()
    assert send_text(app.test_client(), "PIN 1 Main St").status_code == 200
    if step == "renewal":
        with app.app_context():
            ids = [claimed.id for claimed in claim_batch()]
    leased: list[int] = []

    def claim_or_renew() -> None:
        with app.app_context():
            if step == "claim":
                leased.extend(claimed.id for claimed in claim_batch())
            else:
                renew_leases(ids)
                leased.extend(ids)
            db.session.remove()

    locker = sqlite3.connect(tmp_path / "portal.db", timeout=10)
    locker.execute("BEGIN IMMEDIATE")  # another process writing, slowly
    waiting = threading.Thread(target=claim_or_renew)
    waiting.start()
    time.sleep(1.5)  # the lock itself is the event: held for 1.5 seconds
    released = utcnow()
    locker.rollback()
    locker.close()
    waiting.join(timeout=10)
    with app.app_context():
        leases = db.session.scalars(select(OutboundMessage.lease_until).where(OutboundMessage.id.in_(leased)))
        held_for = [until - released for until in leases if until is not None]
    assert len(held_for) == len(DISPATCH)  # the alerts (the texter's reply went back in the answer)
    assert all(held >= lease for held in held_for), f"held for {held_for} after the lock, of a {lease} lease"
