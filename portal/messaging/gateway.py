"""The SMS gateway: one way out for every text message, with two backends.

`twilio` sends through the real twilio client (PORTAL_TWILIO_API_URL lets tests point it
at a local fake API); `console` (development) sends nothing and lets the SMS simulator
show the message instead.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Protocol

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from portal.settings import Settings

# The twilio client logs every request with its form data (numbers and bodies) at
# INFO: keep personal data out of the logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

# Seconds before a call to the Twilio API is given up (and retried later), so that a
# hanging API never holds a worker.
TWILIO_TIMEOUT = 10.0

# Twilio errors that no retry can fix, which a person must act on.
OPTED_OUT = 21610  # the recipient texted STOP to this number


class SendError(Exception):
    """The message was not accepted. `retry` says whether trying again may help."""

    def __init__(self, *, retry: bool, code: int | None = None, reason: str = "") -> None:
        super().__init__(f"{reason} (Twilio error {code})" if code else reason)
        self.retry = retry
        self.code = code


class SmsGateway(Protocol):
    """Called from several sending threads at once (see outbox.deliver_due)."""

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> str:
        """Hand one message to the provider; return its message SID or raise SendError."""

    def fetch_status(self, sid: str) -> tuple[str, int | None] | None:
        """The provider's status and error code of a message, or None if it keeps none."""


class ConsoleGateway:
    """Development: accept everything; the outbox row itself is what the simulator shows."""

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> str:
        return "SMconsole" + secrets.token_hex(13)

    def fetch_status(self, sid: str) -> tuple[str, int | None] | None:
        return None


class TwilioGateway:
    """Safe to share between threads: each thread gets a client of its own, because the
    twilio client keeps each answer on itself before returning it (two threads sharing
    one could each get the other's message SID)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local = threading.local()

    @property
    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                self._settings.twilio_account_sid,
                self._settings.twilio_auth_token,
                http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT),
            )
            client.api.base_url = self._settings.twilio_api_url
            self._local.client = client
        return client

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> str:
        try:
            message = self._client.messages.create(
                to=to, from_=from_, body=body, status_callback=status_callback or None
            )
        except TwilioRestException as error:
            # Retry only what may pass later: rate limiting and Twilio's own failures.
            retry = error.status == 429 or error.status >= 500
            raise SendError(retry=retry, code=error.code, reason=f"HTTP {error.status}") from None
        except OSError as error:  # refused, reset, timed out (requests' errors are OSErrors)
            raise SendError(retry=True, reason=type(error).__name__) from None
        return str(message.sid)

    def fetch_status(self, sid: str) -> tuple[str, int | None] | None:
        try:
            message = self._client.messages(sid).fetch()
        except TwilioRestException as error:
            raise SendError(retry=True, code=error.code, reason=f"HTTP {error.status}") from None
        except OSError as error:
            raise SendError(retry=True, reason=type(error).__name__) from None
        return str(message.status), int(message.error_code) if message.error_code else None


def make_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_backend == "twilio":
        return TwilioGateway(settings)
    return ConsoleGateway()
