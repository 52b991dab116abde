"""SIGKILLs at random moments, every 1 to 2 seconds, while signed texts stream in for
12 seconds (300, fewer on a slow machine): a gunicorn worker (its master starts another), a whole gunicorn
instance (restarted; PostgreSQL, where there are two), a delivery worker (restarted).

A text whose webhook call fails (no answer, or 5xx) is posted once more, as Twilio
retries it to the fallback URL: here the other instance (on SQLite the same one, whose
other gunicorn workers take it). Then:

- no text was acknowledged to Twilio (HTTP 200) without being on disk: its MessageSid
  and its CIT request are in the database;
- none is lost: each acknowledged text's alert reaches both dispatch numbers once the
  workers are back;
- an alert comes again only if it was a killed worker's message in flight (accepted by
  Twilio, its SID not yet committed; a worker sends several at once): each repeat needs
  a kill.

Runs on SQLite (one instance, three gunicorn workers) and on PostgreSQL (two instances
of two). The counts go to the warnings summary of the CI log.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.sms.models import InboundMessage
from tests.fake_twilio import FakeTwilio
from tests.process_helpers import (
    Answer,
    Service,
    alert_counts,
    all_alerted,
    duplicates_explained,
    free_port,
    log_tail,
    post_text,
    report,
    stop_all,
    text_params,
    wait_for,
    wait_serving,
    web_server,
    worker,
)
from tests.text_line_helpers import DISPATCH, make_text_line_app, text_line_environ

TEXTS = 300  # at most: those the servers take within STREAM_SECONDS
STREAM_SECONDS = 12.0  # the texts are spread over this long
SENDERS = 4  # texts in flight at once
KILL_EVERY = (1.0, 2.0)  # seconds between two kills
ENOUGH = 50  # texts acknowledged through the kills, for the run to have tested something


def failure(answer: Answer) -> str:
    return "no answer" if answer.status is None else f"{answer.status // 100}xx"


def run_kill_faults(tmp_path: Path, *, postgres_url: str | None = None) -> None:
    started = time.monotonic()
    fake = FakeTwilio().start()
    overrides = {"PORTAL_DATABASE_URL": postgres_url} if postgres_url else {}
    environ = text_line_environ(
        tmp_path,
        fake,
        # A killed worker's messages are taken over 8 seconds on: longer than SQLite's
        # busy timeout (5 s) and a send, so that a worker that is not killed keeps its
        # messages while it waits for the write lock. With 3 seconds, on a loaded
        # machine, a worker waited 0.8 s to claim and 1.8 s to record a send, and so
        # held the message past its lease: claimed by the other worker in that gap, it
        # goes twice, a duplicate that no kill explains.
        PORTAL_OUTBOX_LEASE="8",
        # No escalation or re-alert during the run: only the alerts themselves are counted.
        PORTAL_DISPATCH_TIMEOUT="3600",
        PORTAL_ACKNOWLEDGE_WITHIN="3600",
        **overrides,
    )
    app = make_text_line_app(tmp_path, fake, environ)
    log = tmp_path / "processes.log"
    database = "PostgreSQL" if postgres_url else "SQLite"
    ports = [free_port(), free_port()] if postgres_url else [free_port()]
    services: list[Service] = []
    texts = [
        text_params(f"+1314{5600000 + n:07d}", f"PIN {n + 1} Main St", "SM" + uuid.uuid4().hex)
        for n in range(TEXTS)
    ]
    answers: dict[int, Answer] = {}
    failed_first = Counter[str]()  # how the first try failed: "no answer" or "5xx"
    unanswered = Counter[str]()  # how the retry failed too
    kills = Counter[str]()
    worker_kills: list[float] = []
    durations: list[float] = []  # of the first tries
    counting = threading.Lock()
    try:
        webs = [
            web_server(f"web {name}", port, environ, log, workers=2 if postgres_url else 3)
            for name, port in zip("AB", ports, strict=False)
        ]
        workers = [worker(f"worker {n}", environ, log) for n in (1, 2)]
        services += webs + workers
        for port in ports:
            wait_serving(port, log)

        stream_start = time.monotonic()
        boot_seconds = stream_start - started

        def send(n: int) -> None:
            due = stream_start + n * STREAM_SECONDS / TEXTS
            time.sleep(max(0.0, due - time.monotonic()))  # pacing: TEXTS over STREAM_SECONDS
            if time.monotonic() - stream_start > STREAM_SECONDS + 1:
                return  # a slow machine sends fewer texts, not for longer
            posted = time.monotonic()
            first = post_text(ports[n % len(ports)], texts[n])
            took = time.monotonic() - posted
            # Twilio's retry, to the fallback URL: the other instance.
            retry = post_text(ports[(n + 1) % len(ports)], texts[n]) if first.status != 200 else None
            with counting:
                durations.append(took)
                if retry is not None:
                    failed_first[failure(first)] += 1
                    if retry.status != 200:
                        unanswered[failure(retry)] += 1
                answers[n] = retry or first

        def stream() -> None:
            with ThreadPoolExecutor(SENDERS) as pool:
                list(pool.map(send, range(TEXTS)))

        sender = threading.Thread(target=stream)
        sender.start()
        last_instance_kill = 0.0
        plan: list[str] = []
        while True:
            sender.join(timeout=random.uniform(*KILL_EVERY))
            if not sender.is_alive():
                break
            if not plan:  # each kind in turn, in a random order
                plan = ["worker", "web worker", "worker", "instance" if postgres_url else "web worker"]
                random.shuffle(plan)
            choice = plan.pop()
            if choice == "instance" and (not postgres_url or time.monotonic() - last_instance_kill < 4):
                choice = "web worker"  # one instance at a time is down, the other takes the retries
            if choice == "worker":
                victim = random.choice(workers)
                worker_kills.append(time.monotonic())
                victim.kill_and_restart()
            elif choice == "instance":
                last_instance_kill = time.monotonic()
                random.choice(webs).kill_and_restart()
            elif not random.choice(webs).kill_a_child():
                continue
            kills[choice] += 1
        stream_seconds = time.monotonic() - stream_start

        acknowledged = {n: answer for n, answer in answers.items() if answer.status == 200}
        references = {answer.reference for answer in acknowledged.values() if answer.reference}

        def outbox_done() -> bool:
            with app.app_context():
                queued = db.session.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.status == "queued")
                )
                db.session.rollback()
            return queued == 0

        wait_for(lambda: all_alerted(fake, references) and outbox_done(), 60, every=0.2)
        drain_seconds = time.monotonic() - stream_start - stream_seconds
    finally:
        stop_all(services)
        fake.stop()

    with app.app_context():
        stored_sids = set(db.session.scalars(select(InboundMessage.message_sid)))
        stored_references = set(db.session.scalars(select(CitRequest.reference)))
        db.session.remove()
        db.engine.dispose()
    without_reference = [n for n, answer in acknowledged.items() if not answer.reference]
    not_on_disk = [
        texts[n]["MessageSid"]
        for n, answer in acknowledged.items()
        if texts[n]["MessageSid"] not in stored_sids or answer.reference not in stored_references
    ]
    counts = alert_counts(fake)
    lost = sorted(r for r in references for number in DISPATCH if counts[(number, r)] == 0)
    duplicated, unexplained = duplicates_explained(fake, references, worker_kills)
    report(
        f"kill faults on {database} ({len(ports)} gunicorn instance(s), 2 workers): {len(answers)} texts sent in "
        f"{stream_seconds:.0f} s, {len(acknowledged)} acknowledged (200); first try failed "
        f"{dict(failed_first)}, retry failed too {dict(unanswered)}, 5xx "
        f"{failed_first['5xx'] + unanswered['5xx']}; killed {sum(kills.values())} {dict(kills)}; "
        f"not on disk {len(not_on_disk)}, lost {len(lost)}, duplicated {duplicated}; "
        f"slowest answer {max(durations):.1f} s; {time.monotonic() - started:.0f} s (start "
        f"{boot_seconds:.0f} s, texts {stream_seconds:.0f} s, last alerts {drain_seconds:.0f} s)"
    )
    assert not without_reference, f"{len(without_reference)} texts answered 200 without a request reference"
    assert not not_on_disk, (
        f"{len(not_on_disk)} texts answered 200 but not in the database: {not_on_disk[:5]}"
    )
    assert not lost, f"{len(lost)} alerts never reached dispatch: {lost[:5]}\n{log_tail(log)}"
    assert not unexplained, f"duplicates beyond a killed worker's message in flight: {unexplained[:5]}"
    # And the run tested something: kills, and texts that got through them.
    assert sum(kills.values()) >= 5, f"only {dict(kills)} kills"
    assert len(acknowledged) >= ENOUGH, (
        f"only {len(acknowledged)} texts acknowledged in {stream_seconds:.0f} s"
    )
    assert len(acknowledged) >= len(answers) * 0.8, "most texts must still be acknowledged"


def test_kills_during_a_stream_of_texts_on_sqlite(tmp_path: Path) -> None:
    run_kill_faults(tmp_path)


@pytest.mark.postgres
def test_kills_during_a_stream_of_texts_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    run_kill_faults(tmp_path, postgres_url=postgres_url)
