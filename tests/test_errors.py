"""Translated error pages; never a bare 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from tests.conftest import make_environ


@pytest.fixture
def failing_app(tmp_path: Path) -> Flask:
    app = create_app({"PROPAGATE_EXCEPTIONS": False}, environ=make_environ(tmp_path))

    @app.get("/es/broken")
    def broken() -> str:
        raise RuntimeError("a bug")

    return app


def test_a_server_error_shows_a_translated_page(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/es/broken")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert '<html lang="es"' in body
    assert "Something went wrong on our side" not in body
    assert "911" in body


def test_a_form_without_its_csrf_token_gets_the_translated_csrf_page(tmp_path: Path) -> None:
    app = create_app(environ=make_environ(tmp_path))  # CSRF protection on, as in production

    @app.post("/bs/form")
    def form() -> str:
        return "accepted"

    response = app.test_client().post("/bs/form", data={"name": "x"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert '<html lang="bs"' in body
    assert "Please try again" not in body
    assert "accepted" not in body


def test_a_nul_character_is_a_bad_request_not_a_500(any_database_app: Flask) -> None:
    """PostgreSQL refuses NUL in text: it must never reach a query."""
    from tests.console_helpers import csrf_token

    any_database_app.config["PROPAGATE_EXCEPTIONS"] = False
    client = any_database_app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/console/sign-in", data={"csrf_token": token, "email": "a\x00@x.test", "password": "x" * 12}
    )
    assert response.status_code == 400
    assert client.get("/crisis-plan/sign-in?next=%00").status_code == 400
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".example.org"])  # refused by IDNA
def test_a_host_the_server_cannot_build_links_for_is_a_bad_request_not_a_500(
    failing_app: Flask, host: str
) -> None:
    """A broken Host header (a scanner, a misconfigured proxy) gets the plain 400 page: the
    error page itself must not need the links it cannot build."""
    for path in ("/", "/es/how-to-call", "/console/sign-in", "/healthz"):
        response = failing_app.test_client().get(path, headers={"Host": host})
        assert response.status_code == 400, (path, host, response.status_code)
        assert "911" in response.get_data(as_text=True) or path == "/healthz"
