"""Web servers (gunicorn) and workers in processes of their own, texted over HTTP as
Twilio texts them, and killed with SIGKILL: for tests/test_several_instances.py and
tests/test_kill_faults.py.

Each process starts in a session of its own, so that a gunicorn instance (its master
and its workers) dies at once, and nothing the test started outlives it.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.text_line_helpers import DISPATCH, LINE

BIN = Path(sys.executable).parent
SIGNED_URL = "http://127.0.0.1:5000/sms/inbound"  # PORTAL_PUBLIC_URL in development
REFERENCE = re.compile(r"Request (R-[0-9A-Z]+) sent to 911 dispatch")
MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """A web server or a worker in its own process (group), that a test kills and restarts."""

    def __init__(self, name: str, command: list[str], environ: dict[str, str], log: Path) -> None:
        self.name, self.command, self.environ, self.log = name, command, environ, log
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as output:
            output.write(f"---- {self.name}: starting\n".encode())
            output.flush()
            self.process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.environ},
                stdout=output,
                stderr=output,
                start_new_session=True,
            )

    def children(self) -> list[int]:
        """The process's children: a gunicorn master's workers."""
        try:
            listed = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in listed.split()]

    def kill(self) -> None:
        """SIGKILL to the whole process group: the master and its workers at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def kill_and_restart(self) -> None:
        self.kill()
        self.start()

    def kill_a_child(self) -> bool:
        """SIGKILL one gunicorn worker (its master starts another); False if none runs."""
        children = self.children()
        if not children:
            return False
        try:
            os.kill(random.choice(children), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM (gunicorn and the worker stop gracefully), then SIGKILL to what is left."""
        stop_all([self])

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def _wait_stopped(self, deadline: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker the master left behind
        self.process.wait()


def stop_all(services: list[Service], seconds: float = 15.0) -> None:
    """Service.stop for several at once: all are told to stop, then all are waited for
    (up to `seconds` in all), so that they stop side by side, not one after the other."""
    for service in services:
        service._terminate()
    deadline = time.monotonic() + seconds
    for service in services:
        service._wait_stopped(deadline)


def web_server(name: str, port: int, environ: dict[str, str], log: Path, workers: int = 2) -> Service:
    """`gunicorn` with sync workers, as in production, on 127.0.0.1:`port`."""
    command = [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "portal:create_app()",
    ]
    return Service(name, command, environ, log)


def worker(name: str, environ: dict[str, str], log: Path) -> Service:
    """`flask --app portal worker`: delivers the outbox."""
    return Service(name, [str(BIN / "flask"), "--app", "portal", "worker"], environ, log)


def wait_serving(port: int, log: Path, seconds: float = 30.0) -> None:
    """Wait until the web server on `port` answers HTTP (any status)."""
    deadline = time.monotonic() + seconds
    while True:
        connection = HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except (OSError, HTTPException):
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answers on port {port}\n{log_tail(log)}") from None
            time.sleep(0.1)
        finally:
            connection.close()


def wait_for(condition: Callable[[], bool], seconds: float, every: float = 0.1) -> bool:
    """Poll `condition` until it holds (True) or `seconds` have passed (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (connection refused or reset, timeout)
    reply: str  # the TwiML <Message>, "" when none

    @property
    def reference(self) -> str | None:
        match = REFERENCE.search(self.reply)
        return match.group(1) if match else None


def text_params(sender: str, body: str, sid: str) -> dict[str, str]:
    return {"From": sender, "To": LINE, "Body": body, "MessageSid": sid, "AccountSid": ACCOUNT_SID}


def post_text(port: int, params: dict[str, str], timeout: float = 10.0) -> Answer:
    """A signed inbound text, posted to the web server on `port` as Twilio posts it."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(SIGNED_URL, params)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/sms/inbound", body=urlencode(params), headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
    except (OSError, HTTPException):
        return Answer(None, "")
    finally:
        connection.close()
    match = MESSAGE.search(text)
    return Answer(response.status, match.group(1) if match else "")


@dataclass(frozen=True)
class Copy:
    to: str
    reference: str
    at: float  # time.monotonic() when the fake API accepted it


def alert_copies(fake: FakeTwilio) -> list[Copy]:
    """Every dispatch alert the fake Twilio API accepted, by number and request reference."""
    copies = []
    for message in list(fake.messages):
        if message.to in DISPATCH and message.body.startswith("CIT REQUEST "):
            copies.append(Copy(message.to, message.body.split()[2], message.at))
    return copies


def alert_counts(fake: FakeTwilio) -> Counter[tuple[str, str]]:
    return Counter((copy.to, copy.reference) for copy in alert_copies(fake))


def all_alerted(fake: FakeTwilio, references: set[str]) -> bool:
    counts = alert_counts(fake)
    return all(counts[(number, reference)] for reference in references for number in DISPATCH)


# A copy stays in flight until its SID is committed, which waits for the slowest of the
# up to SEND_AT_ONCE sends claimed with it. On a quiet machine that is well under a
# second; in a full run on a loaded machine (the fake Twilio API answering from a busy
# test process) kills more than 3 s after a copy repeated it, in 5 of 8 duplicates.
IN_FLIGHT_AT_MOST = 10.0
# The fake stamps a copy when its thread gets to it: a send the killed worker made just
# before the kill can be stamped just after it, on a loaded machine (seen in a full run).
STAMPED_LATE_AT_MOST = 2.0


def duplicates_explained(
    fake: FakeTwilio, references: set[str], worker_kills: list[float], within: float = IN_FLIGHT_AT_MOST
) -> tuple[int, list[str]]:
    """The extra copies of the alerts of `references`, and those no worker kill explains.

    The outbox's bound: a worker killed after Twilio accepted a message but before the
    SID was committed sends it again once the lease runs out. So each repeat of an alert
    needs a worker killed just after the copy before it was accepted (that copy was in
    flight); a message that two kills in a row catch in flight comes three times.
    """
    by_alert: dict[tuple[str, str], list[float]] = {}
    for copy in alert_copies(fake):
        if copy.reference in references:
            by_alert.setdefault((copy.to, copy.reference), []).append(copy.at)
    extra, unexplained = 0, []
    for (number, reference), times in sorted(by_alert.items()):
        if len(times) == 1:
            continue
        extra += len(times) - 1
        times.sort()
        for earlier in times[:-1]:  # each copy that was repeated
            if not any(-STAMPED_LATE_AT_MOST <= kill - earlier <= within for kill in worker_kills):
                unexplained.append(f"{reference} to {number}: {len(times)} copies")
                break
    return extra, unexplained


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def report(summary: str) -> None:
    """Counts for the CI log. The suite runs under pytest-xdist, whose workers' output
    never reaches the log (capsys.disabled() included): a warning does, in the warnings
    summary. Printed too, for a run with -s."""
    print(summary)
    warnings.warn(summary, UserWarning, stacklevel=2)
