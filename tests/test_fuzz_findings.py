"""What the fuzz tests found, kept as plain examples: each answered 500 before its fix."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console_helpers import make_user, sign_in
from tests.registry_helpers import PERSON, WHERE, Registrant
from tests.text_line_helpers import signed


@pytest.mark.parametrize("error_code", ["²", "9" * 4301, "99999999999999999999"])
def test_a_delivery_status_with_an_odd_error_code_is_taken(line: Flask, error_code: str) -> None:
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed", "ErrorCode": error_code}
    response = line.test_client().post("/sms/status", data=params, headers=signed(params, "/sms/status"))
    assert response.status_code == 204


@pytest.fixture
def supervisor(migrated_app: Flask) -> FlaskClient:
    client = migrated_app.test_client()
    secret = make_user(migrated_app, "sue@example.org", "supervisor")
    assert sign_in(migrated_app, client, "sue@example.org", secret).status_code == 302
    return client


@pytest.mark.parametrize(
    "query", ["page=99999999999999999999", "person=²", "person=" + "9" * 30, "end=9999-12-31"]
)
def test_the_audit_trail_takes_any_query_string(supervisor: FlaskClient, query: str) -> None:
    assert supervisor.get(f"/console/audit?{query}").status_code == 200


@pytest.mark.parametrize("query", ["end=9999-12-31", "end=0001-01-01"])
def test_the_reports_take_any_date(supervisor: FlaskClient, query: str) -> None:
    page = supervisor.get(f"/console/reports?{query}")
    assert page.status_code == 200
    assert "Enter a date between 2000 and 2100." in page.get_data(as_text=True)


@pytest.mark.parametrize("query", ["slug=x", "lang_code=xx", "_method=x", "_external=&_scheme=x"])
def test_a_registry_step_ignores_a_query_string_it_does_not_use(migrated_app: Flask, query: str) -> None:
    family = Registrant(migrated_app, migrated_app.test_client())
    assert family.post("/crisis-plan/start", {"action": "new"}).status_code == 302
    assert family.step("person", PERSON).status_code == 302
    assert family.step("where", WHERE).status_code == 302
    family.add_phone("(314) 555-0100", "filer")
    removed = family.post(
        f"/crisis-plan/step/phones?{query}", {"action": "remove:0"}, token_from="/crisis-plan/step/phones"
    )
    assert removed.status_code == 302
    assert removed.headers["Location"] == "/crisis-plan/step/phones"


def test_a_form_field_named_with_a_trailing_backslash_is_refused(migrated_app: Flask) -> None:
    """'name="a\\"' in a multipart body: parsed as a field without a name, which CSRF
    protection tripped over (500) before anything else ran."""
    import io

    client = migrated_app.test_client()
    response = client.post(
        "/crisis-plan/step/photo",
        data={"a\\": "x", "photo": (io.BytesIO(b"GIF87a"), "", "")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
