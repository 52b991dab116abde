"""Links for text messages: always on PORTAL_PUBLIC_URL, never the host a request came to."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def public_link(endpoint: str, **values: Any) -> str:
    settings = current_app.config["PORTAL_SETTINGS"]
    # A request context on the public URL, so this works in the worker too.
    with current_app.test_request_context(base_url=settings.public_url):
        return url_for(endpoint, _external=True, **values)
