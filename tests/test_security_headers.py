"""Security headers on every route of the URL map."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from tests.conftest import make_environ

SAMPLE_VALUES = {
    "lang_code": "ar",
    "filename": "css/portal.css",
    "slug": "person",
    "token": "no-such-link",
    "reference": "R-WWWWWW",
    "user_id": "1",
    "block": "Comment",
    "handoff_id": "1",
    "follow_up_id": "1",
}


def every_get_url(app: Flask) -> list[str]:
    urls = []
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()):
                continue
            values = {
                name: SAMPLE_VALUES[name] for name in rule.arguments if name not in (rule.defaults or {})
            }
            urls.append(adapter.build(rule.endpoint, values, force_external=False))
    return urls


def assert_security_headers(response, url: str) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, url
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    # The officer card's URL is its key: it sends no referrer at all, which is stricter.
    expected = "no-referrer" if url.startswith("/officer/") else "strict-origin-when-cross-origin"
    assert headers.get("Referrer-Policy") == expected, url


def test_every_route_sends_the_security_headers(migrated_app: Flask) -> None:
    app, client = migrated_app, migrated_app.test_client()
    urls = every_get_url(app)
    assert "/ar/how-to-call" in urls and "/healthz" in urls and "/static/css/portal.css" in urls
    for url in urls:
        response = client.get(url)
        # /healthz answers 503 here (no worker runs), a set-up link or an officer card
        # that does not exist 404, the API 401 without a token.
        assert (
            response.status_code < 400
            or url.startswith("/api/")
            or url
            in (
                "/healthz",
                "/console/setup/no-such-link",
                "/console/setup",
                "/officer/no-such-link",
            )
        ), url
        assert_security_headers(response, url)
        assert "Strict-Transport-Security" not in response.headers, "no HSTS over development http"


def test_error_pages_send_them_too(client: FlaskClient) -> None:
    assert_security_headers(client.get("/no-such-page"), "404")
    assert_security_headers(client.post("/how-to-call"), "405")


def test_production_adds_hsts(tmp_path: Path) -> None:
    from tests.test_settings import PRODUCTION

    environ = {**PRODUCTION, "PORTAL_DATABASE_URL": make_environ(tmp_path)["PORTAL_DATABASE_URL"]}
    client = create_app({"TESTING": True}, environ=environ).test_client()
    response = client.get("/")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie
