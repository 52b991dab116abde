"""The machine API, for 911 centers' CAD systems and partners: bearer tokens of API
clients (portal.api.clients), JSON in and out, every call audited.

CSRF protection does not apply (no cookies are used); the bearer token does its work.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Blueprint, Response, abort, g, jsonify, request

from portal import audit, ratelimit
from portal.api.clients import ApiClient, find_by_token
from portal.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)
# Wrong tokens from one address a minute: enough for a CAD whose token was just
# replaced, far too few to guess a 256-bit token (the limit guards the database).
BAD_TOKENS_PER_MINUTE = 30


def json_error(status: int, message: str, **headers: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers)
    return response


def authenticate(scope: str, action: str) -> ApiClient:
    """The calling client, or the request ends here: 401 without a valid token, 403 for
    a client of another scope, 429 over the client's rate. Refusals of a known client are
    audited like its calls."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    client = find_by_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if client is None:
        if not ratelimit.allow(f"api-bad-token:{request.remote_addr}", BAD_TOKENS_PER_MINUTE, 60):
            abort(json_error(429, "too many requests with a wrong token", **{"Retry-After": "60"}))
        log.warning("api: a call without a valid token")  # never the token itself
        abort(
            json_error(401, "a valid bearer token is required", **{"WWW-Authenticate": 'Bearer realm="api"'})
        )
    if client.scope != scope:
        refuse(client, action, "wrong scope", 403, f"this token is for {client.scope}")
    if not ratelimit.allow(f"api-client:{client.id}", client.per_minute, 60):
        refuse(client, action, "rate limited", 429, "rate limit reached", **{"Retry-After": "60"})
    g.api_client = client
    return client


def refuse(
    client: ApiClient,
    action: str,
    outcome: str,
    status: int,
    message: str,
    *,
    plan_reference: str | None = None,
    **headers: str,
) -> NoReturn:
    record(client, action, outcome=outcome, plan_reference=plan_reference)
    db.session.commit()
    abort(json_error(status, message, **headers))


def record(client: ApiClient, action: str, **fields: Any) -> None:
    """An audit row for what the client just asked, in the caller's transaction."""
    audit.record(action, actor_id=None, actor_name=client.actor_name, **fields)


from portal.api import lookup, requests  # noqa: E402,F401
