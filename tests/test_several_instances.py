"""Two web servers (gunicorn, two sync workers each) and two delivery workers, in
processes of their own, on one PostgreSQL database and one Redis, sending through the
fake Twilio API, as the portal scales out:

- the texter's reply cap, reached half on one instance and half on the other, is one
  limit (shared through PORTAL_REDIS_URL);
- a request texted to instance A is in the console served by instance B within 3 s;
- a burst of 200 texts across both instances: every alert reaches each dispatch
  number exactly once;
- a worker SIGKILLed mid-burst loses nothing: every alert reaches both numbers, and an
  alert comes twice only if it was the killed worker's message in flight.

The counts go to the warnings summary of the CI log.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest
import redis
import requests
from sqlalchemy import func, select

from portal.crypto import vault
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index
from portal.sms.conversation import REPLY_CAP, REPLY_WINDOW
from tests.console_helpers import CSRF, PASSWORD, make_user
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
    text_params,
    wait_for,
    wait_serving,
    web_server,
    worker,
)
from tests.text_line_helpers import DISPATCH, make_text_line_app, text_line_environ

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BURST = 200  # texts across both instances, no process killed
KILL_BURST = 100  # texts while one worker is killed
SENDERS = 8  # texts in flight at once, as Twilio posts them


def redis_of_our_own(redis_url: str) -> str:
    """The test Redis, database 14: the `redis_url` fixture empties database 15 before
    and after each test that uses it, and those run beside this one (pytest -n 4)."""
    return redis_url.rsplit("/", 1)[0] + "/14"


def sign_in_over_http(base: str, email: str, secret: str) -> requests.Session:
    """A dispatcher signed in to the console of the web server at `base`, as a browser
    does it: the session and CSRF cookies kept, password, then the TOTP code."""
    browser = requests.Session()

    def csrf(path: str) -> str:
        page = browser.get(base + path, timeout=10)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    first = browser.post(
        base + "/console/sign-in",
        data={"csrf_token": csrf("/console/sign-in"), "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert first.status_code == 302, first.text[:300]
    second = browser.post(
        base + "/console/sign-in/code",
        data={"csrf_token": csrf("/console/sign-in/code"), "code": pyotp.TOTP(secret).now()},
        allow_redirects=False,
        timeout=10,
    )
    assert second.status_code == 302 and second.headers["Location"].endswith("/console/"), second.text[:300]
    return browser


def texts_across(ports: list[int], texts: list[dict[str, str]], senders: int) -> list[Answer]:
    """Post every text, alternately to each instance, `senders` at a time."""
    with ThreadPoolExecutor(senders) as pool:
        return list(pool.map(lambda n: post_text(ports[n % len(ports)], texts[n]), range(len(texts))))


def burst_texts(count: int, street: str, first_number: int) -> list[dict[str, str]]:
    return [
        text_params(f"+1314{first_number + n:07d}", f"PIN {n + 1} {street}", "SM" + uuid.uuid4().hex)
        for n in range(count)
    ]


def test_two_instances_and_two_workers_on_one_database_and_one_redis(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    started = time.monotonic()
    fake = FakeTwilio().start()
    shared_redis = redis_of_our_own(redis_url)
    environ = text_line_environ(
        tmp_path,
        fake,
        PORTAL_DATABASE_URL=postgres_url,
        PORTAL_REDIS_URL=shared_redis,
        # Rate-limit keys are hashed with it: a key of its own keeps this run's counts apart.
        PORTAL_HASH_KEY=f"several-instances-{uuid.uuid4().hex}",
        # A killed worker's messages are taken over 5 seconds on (a live worker renews
        # its lease every 5/3 s, so that a slow moment on a busy machine sends nothing twice).
        PORTAL_OUTBOX_LEASE="5",
        # No escalation or re-alert during the run: only the alerts themselves are counted.
        PORTAL_DISPATCH_TIMEOUT="3600",
        PORTAL_ACKNOWLEDGE_WITHIN="3600",
    )
    app = make_text_line_app(tmp_path, fake, environ)
    secret = make_user(app, "dee@example.org", "dispatcher")
    log = tmp_path / "processes.log"
    ports = [free_port(), free_port()]
    services: list[Service] = []
    try:
        services += [web_server(name, port, environ, log) for name, port in zip("AB", ports, strict=True)]
        workers = [worker(f"worker {n}", environ, log) for n in (1, 2)]
        services += workers
        for port in ports:
            wait_serving(port, log)

        # 1. The reply cap, half on A and half on B, is one limit.
        if REPLY_WINDOW - time.time() % REPLY_WINDOW < 10:  # not across two windows
            wait_for(lambda: REPLY_WINDOW - time.time() % REPLY_WINDOW > 10, 15)
        flooder = "+13145557001"
        flood = [
            post_text(ports[n % 2], text_params(flooder, "what should I do", "SM" + uuid.uuid4().hex))
            for n in range(REPLY_CAP + 1)
        ]
        assert [answer.status for answer in flood] == [200] * (REPLY_CAP + 1)
        answered = [bool(answer.reply) for answer in flood]
        with app.app_context():
            key = f"texter-replies:{phone_index(flooder)}"
            bucket = f"portal:rate:{vault().blind_index(key)}:{int(time.time() // REPLY_WINDOW)}"
        shared_count = int(redis.Redis.from_url(shared_redis).get(bucket) or 0)
        assert answered == [True] * REPLY_CAP + [False], (
            f"replies {answered}: the cap of {REPLY_CAP} was not enforced as one limit across A and B"
        )
        assert shared_count == REPLY_CAP + 1

        # 2. Texted to A, in the console served by B within 3 seconds.
        console = sign_in_over_http(f"http://127.0.0.1:{ports[1]}", "dee@example.org", secret)
        texted = post_text(ports[0], text_params("+13145557002", "PIN 4100 Elm St", "SM" + uuid.uuid4().hex))
        answered_at = time.monotonic()
        assert texted.status == 200 and texted.reference, texted

        def in_console_of_b() -> bool:
            rows = console.get(f"http://127.0.0.1:{ports[1]}/console/queue/rows", timeout=5)
            assert rows.status_code == 200, rows.status_code
            return texted.reference in rows.text

        assert wait_for(in_console_of_b, 3.0), f"{texted.reference} not in B's console within 3 s"
        console_seconds = time.monotonic() - answered_at

        # 3. A burst across both instances: each alert to each dispatch number once.
        answers = texts_across(ports, burst_texts(BURST, "Oak St", 5580000), SENDERS)
        burst_5xx = sum(1 for answer in answers if answer.status and answer.status >= 500)
        references = {answer.reference for answer in answers if answer.reference}
        assert [answer.status for answer in answers] == [200] * BURST, f"{burst_5xx} answered 5xx"
        assert len(references) == BURST

        def outbox_done() -> bool:
            with app.app_context():
                queued = db.session.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.status == "queued")
                )
                db.session.rollback()
            return queued == 0

        wait_for(lambda: all_alerted(fake, references) and outbox_done(), 60)
        counts = alert_counts(fake)
        burst_lost = sum(1 for r in references for number in DISPATCH if counts[(number, r)] == 0)
        burst_twice = sum(
            counts[(number, r)] - 1 for r in references for number in DISPATCH if counts[(number, r)]
        )

        # 4. A worker SIGKILLed mid-burst: nothing lost; the only duplicates its message in flight.
        before = len(fake.messages)
        kill_answers: list[Answer] = []
        sender = threading.Thread(
            target=lambda: kill_answers.extend(
                texts_across(ports, burst_texts(KILL_BURST, "Pine St", 5590000), SENDERS // 2)
            )
        )
        sender.start()
        assert wait_for(lambda: len(fake.messages) - before >= 20, 30), (
            "no alert of the second burst went out"
        )
        mid_burst = sender.is_alive()
        killed_at = time.monotonic()
        workers[0].kill()
        sender.join(timeout=60)
        kill_references = {answer.reference for answer in kill_answers if answer.reference}
        assert [answer.status for answer in kill_answers] == [200] * KILL_BURST
        wait_for(lambda: all_alerted(fake, kill_references) and outbox_done(), 60)
        counts = alert_counts(fake)
        kill_lost = sum(1 for r in kill_references for number in DISPATCH if counts[(number, r)] == 0)
        kill_twice, unexplained = duplicates_explained(fake, kill_references, [killed_at])
    finally:
        for service in services:
            service.stop()
        fake.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    report(
        f"several instances (2 gunicorn, 2 workers, PostgreSQL, Redis): reply cap {sum(answered)} of "
        f"{len(flood)} answered (count in Redis {shared_count}); console of B showed A's request in "
        f"{console_seconds:.2f} s; burst: {BURST} texts sent, 5xx {burst_5xx}, lost {burst_lost}, "
        f"duplicated {burst_twice}; worker killed {'mid-burst' if mid_burst else 'after the texts'}: "
        f"{KILL_BURST} texts sent, killed 1, lost {kill_lost}, duplicated {kill_twice}; "
        f"{time.monotonic() - started:.0f} s"
    )
    assert burst_lost == 0, f"{burst_lost} alerts of the burst never reached dispatch\n{log_tail(log)}"
    assert burst_twice == 0, f"{burst_twice} alerts of the burst sent twice, no process killed"
    assert kill_lost == 0, f"{kill_lost} alerts lost with a worker killed\n{log_tail(log)}"
    assert not unexplained, f"duplicates beyond the killed worker's message in flight: {unexplained}"
