"""Logs: one JSON object a line on stderr, with a request id, and no personal data.

Every process logs through `configure()`, which create_app calls (the web app, the
worker and every other command build the app), and gunicorn.conf.py gives gunicorn's own
lines the same formatter. A line holds
`time` (UTC, ISO 8601), `level`, `logger` and `message`, and, when written while a web
request was handled, that request's `request_id`, which the response also carries in
its X-Request-ID header. Each web request gets one line of its own (logger
`portal.requests`): method, the route rule (`/console/requests/<reference>`, never the
path, where a token could sit, nor the query string), status and duration.

Personal data is kept out by the log calls themselves: they name requests by reference,
texts by MessageSid and outbox rows by id, never a name, number, address, body or email.
As a second line of defence, every string in a line has its phone numbers (found by
phonenumbers' PhoneNumberMatcher) and email addresses masked before it is written: an
exception's message or a library's line can carry what no log call of ours would.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import phonenumbers
from flask import Flask, request
from pythonjsonlogger.json import JsonFormatter
from werkzeug.exceptions import HTTPException

from portal.phones import DEFAULT_REGION

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The request being handled in this thread (or task), for every line logged meanwhile.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# An X-Request-ID from a proxy or a load balancer is kept when it is short and plain
# (a UUID, a hex or base64url token), so one id follows a request through every hop;
# anything else could forge or break log lines, and a new id replaces it.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven digits, with at most three other characters between two of them: the least a
# phone number needs. Only such text is searched with PhoneNumberMatcher, which is slow.
_SEVEN_DIGITS = re.compile(r"\d(?:\D{0,3}\d){6}")

# Written here, never from what a request or a message brought. The request id is ours
# or a proxy's (short and plain, see above), and searching it for a phone number would
# cost more than the rest of a kept page's response.
_OWN_FIELDS = frozenset({"time", "level", "logger", "request_id", "status", "duration_ms"})

log = logging.getLogger("portal.requests")


def redact(text: str) -> str:
    """`text` with its email addresses and phone numbers masked; ids stay readable
    (R-7KX2QF, a MessageSid, an outbox id are no phone number)."""
    text = _EMAIL.sub("[email]", text)
    if _SEVEN_DIGITS.search(text):
        # From the end, so that the positions of the matches before stay right.
        for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION))):
            text = text[: match.start] + "[phone]" + text[match.end :]
    return text


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


class JsonLines(JsonFormatter):
    """One JSON object a line: time, level, logger, message, request_id when there is one,
    then any fields given with `extra=` and the traceback of an exception."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        request_id = REQUEST_ID.get()
        if request_id:
            log_data["request_id"] = request_id
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: value if key in _OWN_FIELDS else _redacted(value) for key, value in log_data.items()}


class StderrLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is when a line is written, not when the handler was
    made: the tests replace sys.stderr for each test."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLines())

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure() -> None:
    """JSON lines on stderr from the root logger at INFO. Idempotent: create_app runs
    many times in one process (the tests), and a level set lower (DEBUG) is kept."""
    root = logging.getLogger()
    if not any(isinstance(handler, StderrLines) for handler in root.handlers):
        root.addHandler(StderrLines())
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Flask's own handler on the app's logger ("portal", the parent of every module's
    # logger) would write each line a second time, as plain text.
    from flask.logging import default_handler

    logging.getLogger("portal").removeHandler(default_handler)
    # The development server's line per request carries the query string; ours
    # (RequestLog) replaces it. Its warnings and errors still come through.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # A Python warning is a log line like any other, not plain text on stderr.
    logging.captureWarnings(True)


def init_app(app: Flask) -> None:
    """Log as JSON lines, and wrap the whole app (outermost: after every other
    middleware, the public page cache included) in the request log."""
    configure()
    app.wsgi_app = RequestLog(app, app.wsgi_app)  # type: ignore[method-assign]

    def log_exception(exc_info: OptExcInfo) -> None:
        # Flask's own line names the path, where a token could sit: the rule instead.
        rule = request.url_rule.rule if request.url_rule else None
        app.logger.error("unhandled exception in %s %s", request.method, rule, exc_info=exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]


class RequestLog:
    """WSGI middleware: a request id for every line logged while a request is handled
    (and in the response's X-Request-ID header), and one line for the request itself."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        # Routes depend on the path and method alone (no host or subdomain rules), so one
        # adapter serves every request; it sees rules added later too.
        self.routes = app.url_map.bind("portal")
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _PLAIN_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        logged = False

        def start(status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Any:
            nonlocal logged
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            if not logged:
                logged = True
                self.log_request(environ, int(status.split(" ", 1)[0]), started)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        except BaseException:
            # Raised through Flask (only when testing or propagating): still one line.
            if not logged:
                self.log_request(environ, 500, started)
            raise
        finally:
            REQUEST_ID.reset(token)

    def log_request(self, environ: WSGIEnvironment, status: int, started: float) -> None:
        """Logged when the response starts (Flask has rendered it by then): a streamed
        file's sending is not counted in its duration."""
        method = environ.get("REQUEST_METHOD", "")
        route = self.route(environ)
        log.info(
            "%s %s %s",
            method,
            route or "(no route)",
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    def route(self, environ: WSGIEnvironment) -> str | None:
        """The rule the path matched (`/console/requests/<reference>`), None when none."""
        path = environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace")  # as WSGI gives it
        try:
            rule, _arguments = self.routes.match(path, environ.get("REQUEST_METHOD", "GET"), return_rule=True)
        except HTTPException:  # not found, wrong method, a redirect to add a slash
            return None
        return rule.rule
