"""A fake Twilio REST API on 127.0.0.1, spoken to over real HTTP by the real twilio client.

Modes: accept, error_5xx, opted_out (400 with error 21610), slow, rate_limited (429);
`fail_ratio` makes that share of sends answer 500 at random; `stop()` leaves the port
refusing connections. It posts no status callback by itself (as when callbacks are
lost): a test posts them with `send_status`. A message's status, as a look-up
(GET .../Messages/SID.json) answers it, is `final_status` unless a test sets it.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode
from urllib.request import Request, urlopen

from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token"


@dataclass
class Received:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    at: float


@dataclass
class FakeTwilio:
    mode: str = "accept"
    fail_ratio: float = 0.0
    slow_seconds: float = 3.0
    messages: list[Received] = field(default_factory=list)
    attempts: int = 0
    # Every send tried, accepted or not: (to, when).
    tried: list[tuple[str, float]] = field(default_factory=list)
    # What a status look-up answers: for every message, or for one SID.
    final_status: str = "delivered"
    # Post this status callback to the app at `app_url` before answering the send, as
    # Twilio sometimes does for a number it cannot deliver to at once.
    early_status: str | None = None
    app_url: str = ""
    statuses: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeTwilio:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, number: str) -> list[Received]:
        return [message for message in self.messages if message.to == number]

    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = WsgiRequest(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: WsgiRequest) -> Response:
        looked_up = re.fullmatch(r"/2010-04-01/Accounts/AC\w+/Messages/(SM\w+)\.json", request.path)
        if looked_up and request.method == "GET":
            return self._look_up(looked_up.group(1))
        if not request.path.endswith("/Messages.json") or request.method != "POST":
            return Response("not found", status=404)
        form = parse_qs(request.get_data(as_text=True))
        with self._lock:
            self.attempts += 1
            self.tried.append((form.get("To", [""])[0], time.monotonic()))
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        if self.mode == "error_5xx" or (self.fail_ratio and random.random() < self.fail_ratio):
            return self._error(500, 20500, "Internal Server Error")
        if self.mode == "rate_limited":
            return self._error(429, 20429, "Too Many Requests")
        if self.mode == "opted_out":
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if len(form.get("Body", [""])[0]) > 1600:  # Twilio's documented limit
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit")
        sid = "SM" + secrets.token_hex(16)
        received = Received(
            sid=sid,
            to=form["To"][0],
            from_=form["From"][0],
            body=form["Body"][0],
            status_callback=form.get("StatusCallback", [None])[0],
            at=time.monotonic(),
        )
        with self._lock:
            self.messages.append(received)
        if self.early_status and received.status_callback:
            send_status(self.app_url, received, self.early_status, "30003")
        payload = {
            "sid": sid,
            "status": "queued",
            "to": received.to,
            "from": received.from_,
            "body": received.body,
        }
        return Response(json.dumps(payload), status=201, content_type="application/json")

    def _look_up(self, sid: str) -> Response:
        with self._lock:
            self.lookups.append(sid)
            known = next((message for message in self.messages if message.sid == sid), None)
        if known is None:
            return self._error(404, 20404, "The requested resource was not found")
        status, error_code = self.statuses.get(sid, (self.final_status, None))
        payload = {"sid": sid, "status": status, "error_code": error_code, "to": known.to, "body": known.body}
        return Response(json.dumps(payload), status=200, content_type="application/json")

    @staticmethod
    def _error(status: int, code: int, message: str) -> Response:
        payload = {"code": code, "message": message, "status": status, "more_info": ""}
        return Response(json.dumps(payload), status=status, content_type="application/json")


def send_status(app_url: str, received: Received, status: str, error_code: str = "") -> int:
    """Post a signed status callback for a message, as Twilio does, to the app at
    `app_url`; the signature is on the callback URL the app gave (its public URL)."""
    assert received.status_callback, "the message asked for no status callback"
    path = received.status_callback.split("/", 3)[3]
    params = {
        "MessageSid": received.sid,
        "MessageStatus": status,
        "ErrorCode": error_code,
        "AccountSid": ACCOUNT_SID,
    }
    return signed_post(f"{app_url}/{path}", params, signed_url=received.status_callback)


def signed_post(
    url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN, signed_url: str | None = None
) -> int:
    """POST a form to the app as Twilio would, with a valid X-Twilio-Signature."""
    signature = RequestValidator(auth_token).compute_signature(signed_url or url, params)
    request = Request(
        url, data=urlencode(params).encode(), headers={"X-Twilio-Signature": signature}, method="POST"
    )
    with urlopen(request, timeout=10) as response:
        return int(response.status)
