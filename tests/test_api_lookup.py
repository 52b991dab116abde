"""A 911 center's CAD system looks up the caller's number (POST /api/v1/lookup), follows
the short-lived links to the plan's additional data (RFC 7852 / NENA-STA-012.2), and is
refused once they expire; every call is in the audit trail and the family's access log.

The CAD here is the test itself, speaking HTTP to the app as a CAD would.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import AuditEvent
from portal.extensions import db
from tests.console_helpers import make_user, sign_in
from tests.registry_helpers import Registrant
from tests.standards_check import validate_additional_data

CALLER = "(314) 555-0100"  # the phone the plan was filed from
UNKNOWN = "(314) 555-0177"
PROVIDER = "urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo"
CALLER_INFO = "urn:nena:xml:ns:EmergencyCallData:CallerInfo"
COMMENT = "urn:ietf:params:xml:ns:EmergencyCallData:Comment"
VCARD = "urn:ietf:params:xml:ns:vcard-4.0"
PLAN = {
    "person": {
        "name": "Jordan Rivers",
        "preferred_name": "Jo",
        "birth_date": "1990-05-17",
        "spoken_language": "Spanish",
        "interpreter": "yes",
        "communication": ["deaf"],
        "description": "Tall, red cap",
    },
    "crisis": {"what_helps": "Quiet voice, music", "what_to_avoid": "Standing close", "weapons": "no"},
    "people": {"emergency_contacts": "Ana Rivers (mother), (314) 555-0133"},
}


def create_client(app: Flask, name: str, scope: str, *extra: str) -> str:
    result = app.test_cli_runner().invoke(args=["api-clients", "create", name, "--scope", scope, *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lookup(client: FlaskClient, token: str, number: str, **fields: str) -> Any:
    return client.post("/api/v1/lookup", json={"caller_number": number, **fields}, headers=bearer(token))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def family(migrated_app: Flask) -> Registrant:
    """A mother filed her son's plan from her phone, and is still signed in to it."""
    registrant = Registrant(migrated_app, migrated_app.test_client())
    registrant.file_plan(phone=CALLER, **PLAN)
    return registrant


def test_a_cad_looks_up_follows_the_links_and_is_refused_after_15_minutes(
    migrated_app: Flask, family: Registrant
) -> None:
    token = create_client(migrated_app, "County CAD", "lookup")
    cad = migrated_app.test_client()

    answer = lookup(cad, token, "314.555.0100", reason="Incoming 911 call", call_id="C-2211")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["plan_on_file"] is True
    (plan,) = body["plans"]
    assert plan["cit_requested"] is True
    assert plan["confirmed_by_person"] is True  # filed by the person themselves (PLAN's consent: self)
    assert plan["preferred_name"] == "Jo"
    assert plan["spoken_language"] == "Spanish"
    assert plan["spoken_language_tag"] == "es"
    assert plan["interpreter_needed"] is True
    assert plan["summary"].startswith("CIT requested.")
    assert "Needs an interpreter (Spanish)" in plan["summary"]
    assert "Avoid: Standing close" in plan["summary"]
    assert "Lithium" not in answer.get_data(as_text=True)  # medicines are not for the first screen

    blocks = {item["purpose"]: item for item in plan["additional_data"]}
    assert set(blocks) == {
        "EmergencyCallData.ProviderInfo",
        "EmergencyCallData.NENA-CallerInfo",
        "EmergencyCallData.Comment",
    }
    fetched = {}
    for purpose, item in blocks.items():
        response = cad.get(path_of(item["url"]), headers=bearer(token))
        assert response.status_code == 200, (purpose, response.get_data(as_text=True))
        assert response.mimetype == f"application/{purpose}+xml"
        assert response.headers["Cache-Control"] == "no-store"
        validate_additional_data(response.data)
        fetched[purpose] = ET.fromstring(response.data)  # noqa: S314 (our own server's answer)

    provider = fetched["EmergencyCallData.ProviderInfo"]
    assert provider.tag == f"{{{PROVIDER}}}EmergencyCallData.ProviderInfo"
    for name in (
        "DataProviderReference",
        "DataProviderString",
        "ProviderID",
        "ProviderIDSeries",
        "TypeOfProvider",
        "ContactURI",
        "Language",
    ):
        assert (provider.findtext(f"{{{PROVIDER}}}{name}") or "").strip(), name

    caller = fetched["EmergencyCallData.NENA-CallerInfo"]
    assert caller.tag == f"{{{CALLER_INFO}}}EmergencyCallData.NENA-CallerInfo"
    cards = caller.findall(f"{{{CALLER_INFO}}}CallerData/{{{VCARD}}}vcard")
    names = [card.findtext(f"{{{VCARD}}}fn/{{{VCARD}}}text") for card in cards]
    assert names[0] == "Jordan Rivers"
    assert cards[0].findtext(f"{{{VCARD}}}nickname/{{{VCARD}}}text") == "Jo"
    assert cards[0].findtext(f"{{{VCARD}}}bday/{{{VCARD}}}date") == "19900517"
    assert cards[0].findtext(f"{{{VCARD}}}lang/{{{VCARD}}}language-tag") == "es"
    assert "Ana Rivers (mother)" in names
    mother = cards[names.index("Ana Rivers (mother)")]
    assert mother.findtext(f"{{{VCARD}}}tel/{{{VCARD}}}uri") == "tel:+13145550133"
    assert caller.findtext(f"{{{CALLER_INFO}}}CallerSpecificData") == plan["officer_brief_url"]
    assert caller.findtext(f"{{{CALLER_INFO}}}CallerSpecificType") == "text/html"

    comment = fetched["EmergencyCallData.Comment"].find(f"{{{COMMENT}}}Comment")
    assert comment is not None
    assert comment.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert comment.text == plan["summary"]

    # The call-taker opens the brief in a browser.
    brief = migrated_app.test_client().get(path_of(plan["officer_brief_url"]))
    assert brief.status_code == 200
    assert "Jordan Rivers" in brief.get_data(as_text=True)

    provider_url = blocks["EmergencyCallData.ProviderInfo"]["url"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=14), tick=True):
        assert cad.get(path_of(provider_url), headers=bearer(token)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=15, seconds=5), tick=True):
        expired = cad.get(path_of(provider_url), headers=bearer(token))
        assert expired.status_code == 410
        assert "Jordan" not in expired.get_data(as_text=True)
        assert migrated_app.test_client().get(path_of(plan["officer_brief_url"])).status_code == 410

    with migrated_app.app_context():
        rows = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.actor_name == "System County CAD"))
        )
    # One look-up, three blocks, one more within 15 minutes, one refused.
    assert [row.action for row in rows] == ["api.lookup"] + ["api.additional_data"] * 5
    assert [row.outcome for row in rows][-1] == "expired"
    assert "C-2211" in (rows[0].reason or "")

    log = family.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert log.count("911 center’s system (County CAD)") == 6
    assert log.count("911 call-taker, through County CAD") == 2  # opened, then refused
    assert "Refused: the link had expired." in log
    # The supervisors' audit trail names the machine and the link's opener in words too.
    supervisor = migrated_app.test_client()
    secret = make_user(migrated_app, "sue.audit@example.org", "supervisor")
    assert sign_in(migrated_app, supervisor, "sue.audit@example.org", secret).status_code == 302
    trail = supervisor.get("/console/audit").get_data(as_text=True)
    assert "A 911 center’s system (County CAD)" in trail
    assert "A 911 call-taker, through County CAD" in trail


def test_an_unknown_number_gets_an_answer_of_the_same_size_and_time(
    migrated_app: Flask, family: Registrant
) -> None:
    token = create_client(migrated_app, "County CAD", "lookup")
    cad = migrated_app.test_client()
    timings: dict[str, list[float]] = {CALLER: [], UNKNOWN: []}
    sizes: dict[str, set[int]] = {CALLER: set(), UNKNOWN: set()}
    for _round in range(5):
        for number in (CALLER, UNKNOWN):
            started = time.perf_counter()
            response = lookup(cad, token, number)
            timings[number].append(time.perf_counter() - started)
            assert response.status_code == 200
            sizes[number].add(len(response.data))
    assert sizes[CALLER] == sizes[UNKNOWN]
    assert len(sizes[CALLER]) == 1
    known, unknown = statistics.median(timings[CALLER]), statistics.median(timings[UNKNOWN])
    assert abs(known - unknown) <= 0.2 * max(known, unknown), (known, unknown)
    # Numbers no phone has, or that are no number at all, are simply not on file.
    for number in ("anonymous", "0", "+44 20 7946 0000"):
        response = lookup(cad, token, number)
        assert response.status_code == 200
        assert response.get_json()["plan_on_file"] is False
        assert len(response.data) in sizes[CALLER]


def test_the_number_goes_in_the_body_and_bad_calls_get_json_errors(migrated_app: Flask) -> None:
    token = create_client(migrated_app, "County CAD", "lookup")
    cad = migrated_app.test_client()
    assert cad.get("/api/v1/lookup?caller_number=3145550100", headers=bearer(token)).status_code == 405
    for bad in ({}, {"caller_number": ""}, {"caller_number": None}):
        response = cad.post("/api/v1/lookup", json=bad, headers=bearer(token))
        assert response.status_code == 400
        assert "caller_number" in response.get_json()["error"]
    not_json = cad.post("/api/v1/lookup", data="3145550100", headers=bearer(token))
    assert not_json.status_code == 400
    assert cad.post("/api/v1/lookup", json={"caller_number": CALLER}).status_code == 401
    wrong = cad.post(
        "/api/v1/lookup", json={"caller_number": CALLER}, headers={"Authorization": "Bearer cftp_x"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.is_json


def test_an_export_token_cannot_look_up_and_a_client_is_rate_limited(migrated_app: Flask) -> None:
    export = create_client(migrated_app, "BHR partner", "export")
    cad = migrated_app.test_client()
    assert lookup(cad, export, CALLER).status_code == 403
    slow = create_client(migrated_app, "Small CAD", "lookup", "--per-minute", "3")
    statuses = [lookup(cad, slow, UNKNOWN).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_revoked_client_is_refused_at_once(migrated_app: Flask, family: Registrant) -> None:
    token = create_client(migrated_app, "County CAD", "lookup")
    cad = migrated_app.test_client()
    link = lookup(cad, token, CALLER).get_json()["plans"][0]["additional_data"][0]["url"]
    result = migrated_app.test_cli_runner().invoke(args=["api-clients", "revoke", "County CAD"])
    assert result.exit_code == 0, result.output
    assert lookup(cad, token, CALLER).status_code == 401
    assert cad.get(path_of(link), headers=bearer(token)).status_code == 401


def test_tokens_are_never_logged_nor_stored_in_clear(
    migrated_app: Flask, family: Registrant, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    token = create_client(migrated_app, "County CAD", "lookup")
    cad = migrated_app.test_client()
    plan = lookup(cad, token, CALLER).get_json()["plans"][0]
    link_token = path_of(plan["officer_brief_url"]).rsplit("/", 1)[1]
    cad.get(path_of(plan["additional_data"][0]["url"]), headers=bearer(token))
    lookup(cad, token + "x", CALLER)  # a wrong token is logged as a warning, without itself
    migrated_app.test_client().get(path_of(plan["officer_brief_url"]))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "without a valid token" in logged
    for secret in (token, token + "x", link_token):
        assert secret not in logged
    with migrated_app.app_context():
        db.session.remove()
        db.engine.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.db*"))
    assert stored, "the test's SQLite database was not found"
    for secret in (token, link_token):
        assert secret.encode() not in stored
