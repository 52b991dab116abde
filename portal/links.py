"""Links: to the portal for text messages (always on PORTAL_PUBLIC_URL, never the host a
request came to), and sms: links that open a phone's texting app."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import current_app, url_for


def public_link(endpoint: str, **values: Any) -> str:
    settings = current_app.config["PORTAL_SETTINGS"]
    # A request context on the public URL, so this works in the worker too.
    with current_app.test_request_context(base_url=settings.public_url):
        return url_for(endpoint, _external=True, **values)


def sms_link(number: str, body: str) -> str:
    """sms:+13145550100?body=AYUDA%20 (RFC 5724): tapped on a phone, it opens a text to
    `number` with `body` already typed, so someone who cannot talk need not type the keyword."""
    return f"sms:{number}?body={quote(body, safe='')}"
