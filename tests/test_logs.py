"""Logs are one JSON object a line, carry a request id, and never personal data.

The main test runs the portal as in production, gunicorn and a `flask worker` in
processes of their own, and reads every line they write (stdout and stderr): a plan
filed through the registry's pages, then a CIT request from its first text to its close
in the console, all with canary personal data (a name, a phone, an address, message
words, an email) that appear nowhere else. The same run in this process, with every
logger at DEBUG through the real formatter, catches what only DEBUG would write.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pyotp
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.logs import JsonLines, redact
from portal.plans.models import CrisisPlan
from tests.console_helpers import CSRF, PASSWORD, csrf_token, make_user, signed_in_dispatcher
from tests.fake_twilio import FakeTwilio
from tests.process_helpers import (
    REFERENCE,
    Service,
    all_alerted,
    free_port,
    log_tail,
    post_text,
    text_params,
    wait_for,
    wait_serving,
    web_server,
    worker,
)
from tests.registry_helpers import Registrant
from tests.text_line_helpers import (
    make_text_line_app,
    reply_text,
    running_worker,
    send_text,
    signed,
    text_line_environ,
    wait_until,
)

# Canary personal data: each appears nowhere else in the code or the tests.
NAME = "Quillon Marrowby"
PHONE = "+13145550193"
PHONE_FORMS = ("+13145550193", "3145550193", "(314) 555-0193", "314-555-0193", "314.555.0193", "555-0193")
ADDRESS = "8123 Quillfeather Ave"
WORDS = "periwinkle marmalade"
EMAIL = "ottoline.vantwisk@example.net"
CANARIES = (NAME, "Quillon", "Marrowby", ADDRESS, "Quillfeather", WORDS, "periwinkle", EMAIL, "vantwisk")

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
_sids = itertools.count(1)


def next_sid() -> str:
    return f"SM{next(_sids):032d}"


# --- Driving the portal over real HTTP -------------------------------------------------


class Page:
    """What the registry helpers read of a Flask test response, from a real one."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.text

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self.text if as_text else self.text.encode()


class Browser:
    """A cookie-keeping HTTP client with the test client's get and post, redirects not
    followed, so that tests/registry_helpers.py drives a real server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def get(self, path: str, **options: Any) -> Page:
        return Page(self.session.get(self.base + path, allow_redirects=False, timeout=30, **options))

    def post(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> Page:
        response = self.session.post(
            self.base + path, data=data, allow_redirects=False, timeout=30, **options
        )
        return Page(response)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def sign_in(self, email: str, totp_secret: str) -> None:
        first = self.post(
            "/console/sign-in",
            {"csrf_token": self.csrf("/console/sign-in"), "email": email, "password": PASSWORD},
        )
        assert first.status_code == 302, first.text[:300]
        second = self.post(
            "/console/sign-in/code",
            {"csrf_token": self.csrf("/console/sign-in/code"), "code": pyotp.TOTP(totp_secret).now()},
        )
        assert second.status_code == 302, second.text[:300]


# --- Reading what the processes wrote ---------------------------------------------------


def log_lines(log: Path) -> list[str]:
    """Every line the processes wrote, stdout and stderr, but the test's own markers."""
    return [line for line in log.read_text().splitlines() if not line.startswith("---- ")]


def parsed(lines: list[str]) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict), f"not a JSON object: {line!r}"
        records.append(record)
    return records


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def personal_data_in(lines: list[str], records: list[dict[str, Any]]) -> list[str]:
    """Each canary found, with its line: in the raw text, in each decoded string (a JSON
    escape could hide one), and the phone's ten digits however they are written."""
    found = []
    for line, record in zip(lines, records, strict=True):
        texts = [line, *strings_in(record)]
        for text in texts:
            folded = text.lower()
            for canary in (*CANARIES, *PHONE_FORMS):
                if canary.lower() in folded:
                    found.append(f"{canary!r} in {line}")
            if "3145550193" in re.sub(r"\D", "", text):
                found.append(f"the phone's digits in {line}")
    return found


def file_a_plan(app: Flask, client: Browser | FlaskClient) -> str:
    """A plan filed through the registry's pages, all canaries in it; its reference."""
    registrant = Registrant(app, cast(FlaskClient, client))
    overview = registrant.file_plan(
        phone="(314) 555-0193",
        person={"name": NAME, "birth_date": "1984-02-29", "communication": ["deaf"], "description": WORDS},
        where={"home_address": ADDRESS + ", St. Louis"},
        people={"emergency_contacts": f"{NAME}, {EMAIL}, (314) 555-0193"},
    )
    assert "Marrowby" in overview  # the registrant's own page shows the plan
    with app.app_context():
        plan = db.session.scalar(select(CrisisPlan.reference))
    assert plan
    return plan


def texts_to_close(
    reference: str, plan: str, dispatcher: Browser | FlaskClient, texted: Callable[[int], bool]
) -> None:
    """A texted request acknowledged, its plan opened, replied to and closed in the
    console by a signed-in `dispatcher`, until the worker has texted the texter 3 times."""
    page = f"/console/requests/{reference}"
    token = csrf_token(cast(FlaskClient, dispatcher), page)
    assert dispatcher.post(f"{page}/acknowledge", data={"csrf_token": token}).status_code == 302
    opened = dispatcher.post(
        f"/console/plans/{plan}", data={"csrf_token": token, "reason": f"CIT request {reference}"}
    )
    assert opened.status_code == 200 and WORDS in opened.get_data(as_text=True)
    replied = dispatcher.post(f"{page}/reply", data={"csrf_token": token, "template": "on_the_way"})
    assert replied.status_code == 302
    closed = dispatcher.post(
        f"{page}/close",
        data={
            "csrf_token": token,
            "disposition": "cit_dispatched",
            "cad_number": "24-118877",
            "text_texter": "yes",
        },
    )
    assert closed.status_code == 302
    assert "closed" in dispatcher.get(page).get_data(as_text=True)
    # The worker texts the two replies and the closing word to the texter.
    assert texted(3)


@pytest.fixture
def services(tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[tuple[int, Flask, Path, list[Service]]]:
    """gunicorn and a worker on one SQLite database, both writing to one log file."""
    environ = text_line_environ(tmp_path, fake_twilio)
    app = make_text_line_app(tmp_path, fake_twilio, environ)  # migrates; shares the keys
    log = tmp_path / "processes.log"
    port = free_port()
    started = [web_server("web", port, environ, log, workers=1), worker("worker", environ, log)]
    try:
        wait_serving(port, log, seconds=90)
        yield port, app, log, started
    finally:
        for service in started:
            service.stop()


def test_every_line_of_a_full_run_is_json_with_request_ids_and_no_personal_data(
    services: tuple[int, Flask, Path, list[Service]], fake_twilio: FakeTwilio
) -> None:
    port, app, log, started = services
    began = datetime.now(UTC)
    base = f"http://127.0.0.1:{port}"
    plan = file_a_plan(app, Browser(base))
    first = post_text(port, text_params(PHONE, f"PIN {ADDRESS} {NAME} needs help", next_sid()))
    assert first.status == 200 and first.reference, (first, log_tail(log))
    reference = first.reference
    second = post_text(port, text_params(PHONE, f"{WORDS}, write to {EMAIL}", next_sid()))
    assert second.status == 200, log_tail(log)
    assert wait_for(lambda: all_alerted(fake_twilio, {reference}), seconds=60), log_tail(log)
    dispatcher = Browser(base)
    dispatcher.sign_in(EMAIL, make_user(app, EMAIL, "dispatcher"))
    texts_to_close(
        reference, plan, dispatcher, lambda count: wait_for(lambda: texted(fake_twilio) >= count, 60)
    )

    # A refused webhook call: its warning is logged while the request is handled, under
    # the id the caller gave, which the response carries back.
    refused = requests.post(
        f"http://127.0.0.1:{port}/sms/inbound",
        data=text_params(PHONE, WORDS, next_sid()),
        headers={"X-Request-ID": "lb-7f3a9c"},
        timeout=30,
    )
    assert refused.status_code == 403 and refused.headers["X-Request-ID"] == "lb-7f3a9c"
    # An id that is not short and plain is replaced, not echoed.
    odd = requests.get(
        f"http://127.0.0.1:{port}/", headers={"X-Request-ID": 'x" y\\z' + "9" * 80}, timeout=30
    )
    assert GENERATED_ID.fullmatch(odd.headers["X-Request-ID"])
    # A query string never reaches a line; the route rule stands for the path.
    requests.get(f"http://127.0.0.1:{port}/how-to-call?phone={PHONE}&email={EMAIL}", timeout=30)
    requests.get(f"http://127.0.0.1:{port}/console/requests/{reference}?q={NAME}", timeout=30)

    for service in started:  # gracefully: their last lines are read too
        service.stop()
    lines = log_lines(log)
    records = parsed(lines)

    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        at = datetime.fromisoformat(record["time"])
        assert at.utcoffset() == timedelta(0) and began - timedelta(minutes=5) < at < datetime.now(UTC), (
            record
        )

    by_logger = {record["logger"] for record in records}
    assert {"gunicorn.error", "portal.requests"} <= by_logger, by_logger
    assert any(
        record["message"].startswith("worker ") and "started" in record["message"] for record in records
    )

    requests_logged = [record for record in records if record["logger"] == "portal.requests"]
    for record in requests_logged:
        assert record["request_id"] and record["method"] and isinstance(record["status"], int), record
        assert record["duration_ms"] >= 0 and "?" not in json.dumps(record), record
    routes = {(record["method"], record["route"], record["status"]) for record in requests_logged}
    assert ("POST", "/sms/inbound", 200) in routes
    assert ("POST", "/console/requests/<reference>/close", 302) in routes
    assert ("POST", "/crisis-plan/review", 302) in routes
    assert ("GET", "/how-to-call", 200) in routes
    assert not any(reference in str(record.get("route")) for record in requests_logged)

    refused_lines = [record for record in records if record.get("request_id") == "lb-7f3a9c"]
    assert {record["logger"] for record in refused_lines} == {"portal.sms.webhook", "portal.requests"}, (
        refused_lines
    )

    assert personal_data_in(lines, records) == []


def texted(fake: FakeTwilio) -> int:
    return sum(message.to == PHONE for message in fake.messages)


# --- The same run in this process, every logger at DEBUG ---------------------------------


def test_at_debug_level_too_every_line_is_json_and_holds_no_personal_data(
    line: Flask, fake_twilio: FakeTwilio
) -> None:
    """Every logger of every library at DEBUG, through the real formatter: a line a
    deployment at DEBUG would write leaks nothing either."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        plan = file_a_plan(line, line.test_client())
        client = line.test_client()
        first = reply_text(send_text(client, f"PIN {ADDRESS} {NAME} needs help", sender=PHONE))
        send_text(client, f"{WORDS}, write to {EMAIL}", sender=PHONE)
        match = REFERENCE.search(first)
        assert match, first
        with running_worker(line):
            wait_until(lambda: all_alerted(fake_twilio, {match.group(1)}))
            dispatcher = signed_in_dispatcher(line, EMAIL)
            texts_to_close(
                match.group(1),
                plan,
                dispatcher,
                lambda count: wait_for(lambda: texted(fake_twilio) >= count, 30),
            )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = written.getvalue().splitlines()
    records = parsed(lines)
    assert len({record["logger"] for record in records}) > 2 and any(r["level"] == "DEBUG" for r in records)
    assert all(record["request_id"] for record in records if record["logger"] == "portal.requests")
    assert personal_data_in(lines, records) == []


# --- The formatter and the request id, in this process ----------------------------------


def test_phone_numbers_and_emails_are_masked_and_ids_are_kept() -> None:
    for form in (*PHONE_FORMS[:5], "+1 314 555 0193", "+44 20 7946 0958"):
        assert redact(f"texted {form} at noon") == "texted [phone] at noon", form
    assert redact(f"from {EMAIL}.") == "from [email]."
    kept = "request R-7KX2QF, message SM00000000000000000000000000000042, outbox 1234567, error 21610"
    assert redact(kept) == kept


def test_a_line_logged_while_a_request_is_handled_carries_its_id(app: Flask) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        response = app.test_client().post(
            "/sms/inbound",
            data={"From": PHONE, "Body": WORDS},
            headers={**signed({"x": "y"}), "X-Request-ID": "abc.123"},
        )
        outside = logging.getLogger("portal.somewhere")
        outside.warning("after the request, from %s", PHONE)
    finally:
        root.removeHandler(handler)
    assert response.status_code == 403 and response.headers["X-Request-ID"] == "abc.123"
    records = [json.loads(line) for line in written.getvalue().splitlines()]
    during = [record for record in records if record["logger"] in ("portal.sms.webhook", "portal.requests")]
    assert len(during) == 2 and all(record["request_id"] == "abc.123" for record in during), records
    after = records[-1]
    assert after["message"] == "after the request, from [phone]" and "request_id" not in after


def test_every_response_gets_its_own_id_even_a_page_served_from_memory(app: Flask) -> None:
    client = app.test_client()
    ids = [client.get("/how-to-call").headers["X-Request-ID"] for _ in range(3)]
    assert len(set(ids)) == 3 and all(GENERATED_ID.fullmatch(request_id) for request_id in ids)


def test_the_text_line_still_answers_with_logs_on(line: Flask) -> None:
    """A request logged with its route does not change the answer."""
    response = send_text(line.test_client(), f"PIN {ADDRESS}")
    assert response.status_code == 200 and response.headers["X-Request-ID"]


def test_an_unhandled_exception_names_the_route_not_the_path_and_masks_the_phone(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, and a line

    @app.get("/failing/<token>")
    def failing(token: str) -> str:
        raise RuntimeError("could not text " + PHONE.replace("+1", ""))

    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonLines())
    logging.getLogger().addHandler(handler)
    try:
        response = app.test_client().get("/failing/set-up-token-4f2a?name=Quillon")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    records = [json.loads(line) for line in written.getvalue().splitlines()]
    (error,) = [record for record in records if record["level"] == "ERROR"]
    assert error["message"] == "unhandled exception in GET /failing/<token>"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError: could not text [phone]" in error["exc_info"]
    assert "token-4f2a" not in written.getvalue() and "Quillon" not in written.getvalue()
