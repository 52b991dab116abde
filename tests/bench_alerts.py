"""How fast a text to the CIT line reaches the dispatch phones: `python -m tests.bench_alerts`.

On SQLite, then on PostgreSQL (skipped when it cannot be reached): a fake Twilio API,
the app in gunicorn, and one `flask worker` process, as in production. Signed texts
are posted to the webhook

- at 4 texts a second for 15 seconds: forward latency, from the webhook's answer to the
  alert at the fake API for both dispatch numbers (the later of the two), p50 and p99;
- then 1,500 at once (8 posting threads): seconds from the first post until every
  alert reached both dispatch numbers.

Measured, not asserted. The last line printed is one JSON object with the results,
for `make bench`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from twilio.request_validator import RequestValidator

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.text_line_helpers import DISPATCH, LINE, make_text_line_app, text_line_environ

STEADY_RATE = 4.0  # texts a second
STEADY_SECONDS = 15.0
BURST = 1500
POSTERS = 8  # threads posting the burst
WEB_WORKERS = 2
POSTGRES_ADMIN_URL = os.environ.get("PORTAL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post_text(port: int, texter: str, body: str) -> float:
    """A signed inbound text, as Twilio posts it; when its 200 came (monotonic)."""
    params = {
        "From": texter,
        "To": LINE,
        "Body": body,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://127.0.0.1:5000/sms/inbound", params)
    request = Request(
        f"http://127.0.0.1:{port}/sms/inbound",
        data=urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    with urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status
    return time.monotonic()


def place(number: int) -> str:
    return f"{number} Main St"


def alerted_at(fake: FakeTwilio) -> dict[str, float]:
    """For each place alerted about, when its alert had reached both dispatch numbers."""
    seen: dict[str, dict[str, float]] = {}
    with fake._lock:
        messages = list(fake.messages)
    for message in messages:
        if message.to in DISPATCH and message.body.startswith("CIT REQUEST"):
            where = message.body.split('"')[1]  # Location: "N Main St"
            seen.setdefault(where, {}).setdefault(message.to, message.at)
    return {where: max(at.values()) for where, at in seen.items() if len(at) == len(DISPATCH)}


def wait_for(fake: FakeTwilio, places: list[str], seconds: float) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while True:
        alerted = alerted_at(fake)
        if all(where in alerted for where in places) or time.monotonic() > deadline:
            return alerted
        time.sleep(0.01)


@contextmanager
def processes(environ: dict[str, str], folder: Path, port: int) -> Iterator[None]:
    """The app in gunicorn and one worker, until the block ends."""
    bin_dir = Path(sys.executable).parent
    log = (folder / "processes.log").open("ab")
    env = {**os.environ, **environ}
    started = [
        subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "-w",
                str(WEB_WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "portal:create_app()",
            ],
            env=env,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [str(bin_dir / "flask"), "--app", "portal", "worker"], env=env, stdout=log, stderr=log
        ),
    ]
    try:
        yield
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    name: str, folder: Path, database_url: str | None = None, burst_size: int = BURST
) -> dict[str, float]:
    fake = FakeTwilio().start()
    overrides = {"PORTAL_DATABASE_URL": database_url} if database_url else {}
    # Only the alerts themselves: no escalation or re-alert while the burst drains.
    environ = text_line_environ(
        folder, fake, PORTAL_DISPATCH_TIMEOUT="3600", PORTAL_ACKNOWLEDGE_WITHIN="3600", **overrides
    )
    app = make_text_line_app(folder, fake, environ)  # migrates the database
    port = free_port()
    try:
        with processes(environ, folder, port):
            # Ready when a warm-up text has reached dispatch: the web server and the worker run.
            deadline = time.monotonic() + 60
            while True:
                try:
                    post_text(port, "+13145579999", "PIN 99999 Main St")
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the web server did not start"
                    time.sleep(0.2)
            assert place(99999) in wait_for(fake, [place(99999)], 60), "the worker did not start"

            # Steady: 4 texts a second, each from its own texter.
            accepted: dict[str, float] = {}
            count = int(STEADY_RATE * STEADY_SECONDS)
            start = time.monotonic()
            for number in range(1, count + 1):
                time.sleep(max(0.0, start + (number - 1) / STEADY_RATE - time.monotonic()))
                accepted[place(number)] = post_text(port, f"+1314556{number:04d}", f"PIN {place(number)}")
            alerted = wait_for(fake, list(accepted), 60)
            latencies = [alerted[where] - at for where, at in accepted.items() if where in alerted]
            assert len(latencies) == count, f"{count - len(latencies)} steady texts never alerted"

            # Burst: 1,500 texts posted as fast as the web server takes them.
            numbers = iter(range(10001, 10001 + burst_size))
            lock = threading.Lock()

            def post_burst() -> None:
                while True:
                    with lock:
                        number = next(numbers, None)
                    if number is None:
                        return
                    post_text(port, f"+1314{number:07d}", f"PIN {place(number)}")

            burst_started = time.monotonic()
            posters = [threading.Thread(target=post_burst) for _ in range(POSTERS)]
            for poster in posters:
                poster.start()
            for poster in posters:
                poster.join()
            posted = time.monotonic() - burst_started
            burst_places = [place(number) for number in range(10001, 10001 + burst_size)]
            alerted = wait_for(fake, burst_places, 300)
            missing = [where for where in burst_places if where not in alerted]
            assert not missing, f"{len(missing)} burst texts never alerted"
            burst = max(alerted[where] for where in burst_places) - burst_started
    finally:
        fake.stop()
        with app.app_context():
            from portal.extensions import db

            db.session.remove()
            db.engine.dispose()
    result = {
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "burst_seconds": round(burst, 1),
        "burst_posted_seconds": round(posted, 1),
    }
    print(
        f"{name}: forward latency at {STEADY_RATE:g} texts/s, p50 {result['p50_ms']:.0f} ms, "
        f"p99 {result['p99_ms']:.0f} ms; burst of {burst_size}: posted in {posted:.1f} s, "
        f"at both dispatch numbers in {burst:.1f} s",
        flush=True,
    )
    return result


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A new PostgreSQL database for the run, dropped afterwards; None if unreachable."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"postgresql: skipped ({error})".strip(), flush=True)
        yield None
        return
    name = f"portal_bench_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql", help="which to measure, comma-separated")
    parser.add_argument("--burst", type=int, default=BURST, help="texts in the burst")
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake API's request log
    results: dict[str, object] = {
        "bench": "alerts",
        "steady_texts_per_second": STEADY_RATE,
        "steady_seconds": STEADY_SECONDS,
        "burst_texts": options.burst,
    }
    databases = options.databases.split(",")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as folder:
            results["sqlite"] = measure("sqlite", Path(folder), burst_size=options.burst)
    if "postgresql" in databases:
        with postgres_database() as url, tempfile.TemporaryDirectory() as folder:
            results["postgresql"] = measure("postgresql", Path(folder), url, options.burst) if url else None
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
