"""A closed CIT request exported as an EIDO document (NENA-STA-021): through the API for
an export client, and as a download from the console."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console_helpers import csrf_token, signed_in_dispatcher
from tests.registry_helpers import Registrant
from tests.test_api_lookup import bearer, create_client

FAMILY_PHONE = "(314) 555-0100"
# APCO ANS 1.111.2-2018, read from the standard's code list: what each of our closings
# means in its words.
APCO_CODE_FOR = {
    "cit_dispatched": "18",  # Assignment Completed/Settled By Contact
    "co_responder": "15",  # Referred to partner agency
    "behavioral_health_line": "15",  # Referred to partner agency
    "transported": "16",  # Transport/Escort Given
    "no_contact": "14",  # Gone On Arrival (GOA)/Unable To Locate (UATL)
    "other": "13",  # Information/Administrative
}


@pytest.fixture
def family(migrated_app: Flask) -> Registrant:
    registrant = Registrant(migrated_app, migrated_app.test_client())
    registrant.file_plan(
        phone=FAMILY_PHONE,
        person={
            "name": "Jordan Rivers",
            "preferred_name": "Jo",
            "birth_date": "1990-05-17",
            "spoken_language": "Spanish",
        },
    )
    return registrant


@pytest.fixture
def dispatcher(migrated_app: Flask) -> FlaskClient:
    return signed_in_dispatcher(migrated_app)


def closed_request(dispatcher: FlaskClient, disposition: str) -> str:
    token = csrf_token(dispatcher, "/console/requests/new")
    created = dispatcher.post(
        "/console/requests/new",
        data={
            "csrf_token": token,
            "location": "Grand and Olive, by the bus stop",
            "callback": FAMILY_PHONE,
            "language": "es",
            "note": "Mother says he is <b>pacing</b>",
        },
    )
    reference = created.headers["Location"].rsplit("/", 1)[1]
    closed = dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": token, "disposition": disposition, "cad_number": "CAD-88", "text_texter": "no"},
    )
    assert closed.status_code == 302
    return reference


def by_id(document: dict, name: str) -> dict:  # type: ignore[type-arg]
    return {item["$id"]: item for item in document.get(name, [])}


def test_a_closed_request_exports_as_eido(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    from tests.standards_check import validate_eido

    token = create_client(migrated_app, "BHR partner", "export")
    api = migrated_app.test_client()
    for disposition, code in APCO_CODE_FOR.items():
        reference = closed_request(dispatcher, disposition)
        response = api.get(f"/api/v1/requests/{reference}/eido", headers=bearer(token))
        assert response.status_code == 200, response.get_data(as_text=True)
        document = response.get_json()
        validate_eido(document)
        assert document["eidoVersion"] == "1.0"
        incident = document["incidentComponent"]
        assert incident["incidentTypeCommonRegistryText"] == "MNTL"
        (closing,) = incident["dispositionComponent"]
        assert closing["dispositionCommonRegistryCode"] == code, disposition
        assert closing["dispositionCategoryText"] == disposition
        assert closing["dispositionDescriptionText"]
        assert incident["documentIdentification"] == ["CAD-88"]

    (resource,) = document["emergencyResourceComponent"]
    assert resource["emergencyResourceTypeCommonRegistryText"] == "CrisisInterventionUnit"
    people = {
        role: person
        for person in document["personComponent"]
        for role in person["personIncidentRoleRegistryText"]
    }
    assert set(people) == {"Caller", "Patient"}
    patient = people["Patient"]["ncPersonComponent"]
    # NIEM Core as EIDO's schema writes it: arrays of {"value": ...}.
    assert patient["name"][0]["personFullName"] == [{"value": "Jordan Rivers"}]
    assert patient["name"][0]["personPreferredName"] == [{"value": "Jo"}]
    assert patient["primaryLanguage"][0]["languageName"] == [{"value": "Spanish"}]
    caller = people["Caller"]["ncPersonComponent"]
    assert caller["primaryLanguage"][0]["languageName"] == [{"value": "Spanish"}]  # texted in Spanish
    callbacks = by_id(document, "callbackComponent")
    assert callbacks[people["Caller"]["callBackReference"]["$ref"]]["callBackInformationUri"] == [
        "tel:+13145550100"
    ]
    locations = by_id(document, "locationComponent")
    (where,) = [locations[ref["$ref"]] for ref in incident["locationReference"]]
    assert where["locationDescriptionText"] == "Grand and Olive, by the bus stop"
    (notes,) = document["notesComponent"]
    assert "&lt;b&gt;pacing&lt;/b&gt;" in notes["notesActionComments"]  # the dispatcher's words, never markup
    assert "<b>" not in notes["notesActionComments"]
    (comment,) = document["additionalDataComponent"]
    assert "CIT requested." in comment["additionalDataByValue"]
    # Times carry the agency's offset (St. Louis: -05:00 or -06:00).
    assert re.search(r"-0[56]:00$", document["lastUpdateTimeStamp"])

    log = family.client.get("/crisis-plan/access-log").get_data(as_text=True)
    assert log.count("911 center’s system (BHR partner)") == len(APCO_CODE_FOR)


def test_only_export_clients_get_eido_and_the_console_downloads_it(
    migrated_app: Flask, family: Registrant, dispatcher: FlaskClient
) -> None:
    lookup_token = create_client(migrated_app, "County CAD", "lookup")
    export_token = create_client(migrated_app, "BHR partner", "export")
    reference = closed_request(dispatcher, "co_responder")
    api = migrated_app.test_client()
    assert api.get(f"/api/v1/requests/{reference}/eido", headers=bearer(lookup_token)).status_code == 403
    assert api.get(f"/api/v1/requests/{reference}/eido").status_code == 401
    missing = api.get("/api/v1/requests/R-ZZZZZZ/eido", headers=bearer(export_token))
    assert missing.status_code == 404 and missing.is_json

    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    assert f"/console/requests/{reference}/eido" in page
    download = dispatcher.get(f"/console/requests/{reference}/eido")
    assert download.status_code == 200
    assert f"{reference}-eido.json" in download.headers["Content-Disposition"]
    assert (
        json.loads(download.data)["incidentComponent"]["dispositionComponent"][0][
            "dispositionCommonRegistryCode"
        ]
        == "15"
    )
