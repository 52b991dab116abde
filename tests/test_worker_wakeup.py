"""Alerts out fast: an idle worker is woken by a queued message, not by its next poll,
and sends the messages it claimed at once, except those that must keep their order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from portal import worker as worker_module
from portal.extensions import db
from portal.messaging import wakeup
from portal.messaging.gateway import make_gateway
from portal.messaging.outbox import SEND_AT_ONCE, claim_batch, deliver_due, queue_message
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import make_text_line_app, wait_until

POLL = 30.0  # the worker's fallback poll in these tests: far longer than any bound below


class WatchedWaiter:
    """The worker's waiter, with a record of each wait: when it began, and whether it was woken."""

    def __init__(self, waiter: wakeup.Waiter) -> None:
        self._waiter = waiter
        self.waits: list[tuple[float, bool]] = []
        self._lock = threading.Lock()

    def wait(self, seconds: float) -> bool:
        with self._lock:
            self.waits.append((time.monotonic(), False))
            position = len(self.waits) - 1
        woken = self._waiter.wait(seconds)
        with self._lock:
            self.waits[position] = (self.waits[position][0], woken)
        return woken

    def close(self) -> None:
        self._waiter.close()


@pytest.fixture(params=["sqlite", "sqlite+redis", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[Flask]:
    overrides = {}
    if request.param == "postgresql":
        overrides["PORTAL_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    if request.param == "sqlite+redis":
        overrides["PORTAL_REDIS_URL"] = request.getfixturevalue("redis_url")
    app = make_text_line_app(tmp_path, fake_twilio, **overrides)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def idle_worker(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[WatchedWaiter]:
    """A worker in a thread whose poll comes only every POLL seconds, once it waits idle."""
    monkeypatch.setattr(worker_module, "IDLE_PAUSE", POLL)
    watched: list[WatchedWaiter] = []

    def make_waiter(stop: threading.Event) -> WatchedWaiter:
        watched.append(WatchedWaiter(wakeup.make_waiter(stop)))
        return watched[0]

    monkeypatch.setattr(worker_module, "make_waiter", make_waiter)
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            worker_module.run(stop)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        # The first wait returns at once (listening begins, or SQLite's first look);
        # the second is the worker idle, waiting.
        wait_until(lambda: bool(watched) and len(watched[0].waits) >= 2)
        yield watched[0]
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive()


def queue(app: Flask, count: int = 1, to: str = "+13145550123") -> None:
    with app.app_context():
        for number in range(count):
            queue_message(to=to, body=f"message {number}", sender="line", purpose="texter_reply")
        db.session.commit()


def test_a_queued_message_wakes_the_idle_worker(
    app: Flask, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    with idle_worker(app, monkeypatch) as waiter:
        queued = time.monotonic()
        queue(app)
        wait_until(lambda: len(fake_twilio.messages) == 1, seconds=POLL / 2)
        elapsed = fake_twilio.messages[0].at - queued
        # Woken by the message, long before the poll: a wait that began before the
        # commit ended woken.
        assert any(began < queued and woken for began, woken in waiter.waits), waiter.waits
        assert elapsed < 1.0, f"{elapsed:.2f} s from the commit to the fake Twilio API"


def test_messages_are_sent_at_once(
    app: Flask, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_twilio.mode, fake_twilio.slow_seconds = "slow", 0.5  # each send answered after 500 ms
    count = 20
    with idle_worker(app, monkeypatch):
        queued = time.monotonic()
        with app.app_context():
            for number in range(count):  # 20 recipients: nothing to keep in order
                queue_message(to=f"+131455502{number:02d}", body="x", sender="line", purpose="texter_reply")
            db.session.commit()
        wait_until(lambda: len(fake_twilio.messages) == count, seconds=POLL / 2)
    # SEND_AT_ONCE sends were out together: the last of them began before the first was
    # answered (one at a time, each begins after the one before is answered). Seen in
    # the order of events, not timed, so a loaded machine cannot fail it.
    starts = sorted(tried for _to, tried in fake_twilio.tried)
    first_answer = min(message.at for message in fake_twilio.messages)
    assert starts[SEND_AT_ONCE - 1] < first_answer, "the first sends did not overlap"
    assert queued < starts[0]


def test_messages_to_one_recipient_keep_their_order(
    app: Flask, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert and the location change after it: the second is sent only once the first
    was answered, while messages to others go at the same time."""
    fake_twilio.mode, fake_twilio.slow_seconds = "slow", 0.1
    with idle_worker(app, monkeypatch):
        with app.app_context():
            for number in range(4):
                queue_message(
                    to="+13145550111", body=f"in order {number}", sender="line", purpose="dispatch_alert"
                )
                queue_message(to=f"+131455503{number:02d}", body="x", sender="line", purpose="texter_reply")
            db.session.commit()
        wait_until(lambda: len(fake_twilio.messages) == 8, seconds=POLL / 2)
    in_order = fake_twilio.to("+13145550111")
    assert [message.body for message in in_order] == [f"in order {number}" for number in range(4)]
    tried = [at for to, at in fake_twilio.tried if to == "+13145550111"]
    for answered, next_tried in zip(in_order, tried[1:], strict=False):
        assert next_tried >= answered.at, "a message was sent before the one queued before it was answered"


def test_a_slow_send_keeps_the_lease_on_the_messages_still_held(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    """Three messages that must go one after the other take 3 s at 1 s each: the lease
    (1.5 s) is renewed meanwhile, so no other worker claims them."""
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_OUTBOX_LEASE="1.5")
    fake_twilio.mode, fake_twilio.slow_seconds = "slow", 1.0
    queue(app, count=3)
    with app.app_context():
        gateway = make_gateway(app.config["PORTAL_SETTINGS"])

    def deliver() -> None:
        with app.app_context():
            deliver_due(gateway)

    delivering = threading.Thread(target=deliver)
    delivering.start()
    wait_until(lambda: fake_twilio.tried)  # claimed, and sending the first
    taken = []
    with app.app_context():
        while delivering.is_alive():
            taken += claim_batch()  # another worker, trying all along
            time.sleep(0.1)
    delivering.join()
    assert taken == []
    assert [message.body for message in fake_twilio.messages] == ["message 0", "message 1", "message 2"]
    assert fake_twilio.attempts == 3
