"""A CIT request as an EIDO document (NENA-STA-021.1, Emergency Incident Data Object,
JSON), for handing it to a CAD or a behavioral-health partner.

The incident is APCO's "MNTL" (Mental Person Non-Violent); the resource asked for is a
"CrisisInterventionUnit"; the texter is the Caller and, when a crisis plan matched, the
person is the Patient with the plan's language; the location is as the texter gave it;
the thread is in the notes; a closed request carries its disposition as an APCO ANS
1.111.2 common disposition code beside our own code and words. Every component names
its last change and who made it (the EIDO "prologue").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from markupsafe import escape

from portal.dispatch import additional_data
from portal.dispatch.display import DISPOSITIONS
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.i18n import BY_CODE, in_language
from portal.plans.models import CrisisPlan
from portal.times import local_iso

EIDO_VERSION = "1.0"
MEDIA_TYPE = "application/json"
INCIDENT_TYPE = "MNTL"  # APCO ANS 2.103.2: Mental Person Non-Violent
RESOURCE_TYPE = "CrisisInterventionUnit"
# Our dispositions -> APCO ANS 1.111.2-2018 common disposition codes.
APCO_DISPOSITIONS = {
    "cit_dispatched": "18",  # Assignment Completed/Settled By Contact
    "co_responder": "15",  # Referred to partner agency
    "behavioral_health_line": "15",  # Referred to partner agency
    "transported": "16",  # Transport/Escort Given
    "no_contact": "14",  # Gone On Arrival/Unable To Locate
    "other": "13",  # Information/Administrative
}


def _host() -> str:
    return urlsplit(current_app.config["PORTAL_SETTINGS"].public_url).hostname or "localhost"


def _id(kind: str, request: CitRequest, suffix: str = "") -> str:
    """An EIDO identifier: "urn:emergency:uid:incidentid:R-7K3QM2:pin.example.org"."""
    return f"urn:emergency:uid:{kind}:{request.reference}{suffix}:{_host()}"


def last_change(request: CitRequest) -> datetime:
    moments = [request.created_at, request.acknowledged_at, request.closed_at]
    moments += [message.at for message in request.messages]
    return max(moment for moment in moments if moment is not None)


def _prologue(component_id: str, at: datetime, agent: str | None = None) -> dict[str, Any]:
    prologue: dict[str, Any] = {
        "$id": component_id,
        "lastUpdateTimeStamp": local_iso(at),
        "updatedByAgencyReference": {"$ref": _host()},
    }
    if agent:
        prologue["updatedByAgentReference"] = {"$ref": agent}
    return prologue


def _language(name: str) -> dict[str, Any]:
    """NIEM's nc:PersonLanguageType with the language's name (EIDO's schema wants ISO
    639-3 codes for a code, which the portal does not keep)."""
    return {"languageName": [{"value": name}]}


def _note_html(request: CitRequest) -> str:
    """The thread as plain HTML (no scripts, no images: a CAD may show it as it is)."""
    who = {"in": "Texter", "out": "Sent to texter", "note": "Dispatch note"}
    lines = [
        f"<p>{escape(local_iso(message.at))} {escape(who.get(message.direction, message.direction))}"
        f"{escape(' (' + message.author + ')') if message.author else ''}: {escape(message.body)}</p>"
        for message in request.messages
    ]
    return "".join(lines) or "<p>No messages.</p>"


def document(request: CitRequest) -> dict[str, Any]:
    """The EIDO document of one request."""
    host = _host()
    # One agent stands for the program's dispatchers: a partner needs the desk, not a
    # staff member's account (the audit trail keeps who did what).
    agent_id = f"dispatch@{host}"
    changed = last_change(request)
    incident_id = _id("incidentid", request)
    call_id = _id("callid", request)
    callback_id, location_id, note_id = (
        _id("callbackid", request),
        _id("locationid", request),
        _id("notesid", request),
    )
    caller_id, patient_id = _id("personid", request, ".caller"), _id("personid", request, ".patient")
    resource_id, comment_id = _id("resourceid", request), _id("additionaldataid", request, ".comment")
    plan = db.session.get(CrisisPlan, request.plan_id) if request.plan_id else None
    language = BY_CODE.get(request.language)

    people = [
        {
            **_prologue(caller_id, request.created_at),
            "personIncidentRoleRegistryText": ["Caller"],
            "callIdentifier": [call_id],
            **({"callBackReference": {"$ref": callback_id}} if request.callback_number else {}),
            "ncPersonComponent": {
                "primaryLanguage": [_language(language.english_name if language else request.language)]
            },
        }
    ]
    components: dict[str, Any] = {}
    if plan is not None:
        person = plan.details.get("person", {})
        named = {"personFullName": [{"value": str(person.get("name") or "")}]}
        if person.get("preferred_name"):
            named["personPreferredName"] = [{"value": str(person["preferred_name"])}]
        # The language the person speaks best, as the family wrote it; else the plan's.
        spoken = str(person.get("spoken_language") or "") or BY_CODE[plan.language].english_name
        patient = {"name": [named], "primaryLanguage": [_language(spoken)]}
        people.append(
            {
                **_prologue(patient_id, plan.confirmed_at),
                "personIncidentRoleRegistryText": ["Patient"],
                "ncPersonComponent": patient,
                "additionalDataReference": [{"$ref": comment_id}],
            }
        )
        comment_xml = additional_data.block("Comment", plan, request.id, "")
        components["additionalDataComponent"] = [
            {
                **_prologue(comment_id, plan.confirmed_at),
                "additionalDataByValue": comment_xml.decode(),
                "urlPurpose": "EmergencyCallData.Comment",
            }
        ]

    incident: dict[str, Any] = {
        **_prologue(incident_id, changed),
        "incidentTypeCommonRegistryText": INCIDENT_TYPE,
        "incidentTypeInternalText": "CIT request",
        "internalIncidentId": request.reference,
        "incidentStatusInternalText": [request.status],
        "locationReference": [{"$ref": location_id}],
        "personReference": [{"$ref": person["$id"]} for person in people],
        "notesReference": [{"$ref": note_id}],
    }
    if request.cad_number:
        incident["documentIdentification"] = [request.cad_number]
    if request.status == "closed" and request.disposition:
        words = in_language("en", lambda: str(DISPOSITIONS.get(request.disposition or "", "Other")))
        incident["dispositionComponent"] = [
            {
                **_prologue(_id("dispositionid", request), request.closed_at or changed, agent_id),
                "dispositionCommonRegistryCode": APCO_DISPOSITIONS.get(request.disposition, "13"),
                "dispositionPrimaryIndicator": True,
                "dispositionCategoryText": request.disposition,
                "dispositionDescriptionText": words,
            }
        ]

    eido: dict[str, Any] = {
        **_prologue(incident_id, changed),
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": host,
        "agencyComponent": [
            {
                **_prologue(host, request.created_at),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                "agencyType": ["psap"],
            }
        ],
        "agentComponent": [
            {
                **_prologue(agent_id, request.created_at),
                "agentRoleRegistryText": ["Call Taking"],
                "agencyReference": {"$ref": host},
            }
        ],
        "incidentComponent": incident,
        "callComponent": [
            {
                **_prologue(call_id, changed),
                "standardPrimaryCallType": "emergency",
                "localCallType": "CIT text line" if request.source == "sms" else "911 voice call, typed in",
                "direction": "incoming",
                "callStartTimestamp": local_iso(request.created_at),
                **({"answerDate": local_iso(request.acknowledged_at)} if request.acknowledged_at else {}),
                "callStateRegistryText": "callAnswered" if request.acknowledged_at else "callQueued",
                **({"callBackReference": {"$ref": callback_id}} if request.callback_number else {}),
                "locationReference": [{"$ref": location_id}],
                "personReference": [{"$ref": caller_id}],
            }
        ],
        "locationComponent": [
            {
                **_prologue(location_id, request.created_at),
                "locationTypeDescriptionRegistryText": "CurrentIncident",
                "locationDescriptionText": request.location or "Location not given",
            }
        ],
        "personComponent": people,
        "emergencyResourceComponent": [
            {
                **_prologue(resource_id, changed),
                "emergencyResourceTypeCommonRegistryText": RESOURCE_TYPE,
                "emergencyResourceTypeInternalText": "CIT officer requested",
                "resourceAttributeRegistryText": ["CrisisInterventionSpecialist"],
                "primaryUnitStatusRegistryText": "NotAvailable"
                if request.status == "closed"
                else "Available",
                "secondaryUnitStatusRegistryText": [request.status],
                "agentReference": [{"$ref": agent_id}],
            }
        ],
        "notesComponent": [{**_prologue(note_id, changed), "notesActionComments": _note_html(request)}],
        **components,
    }
    if request.callback_number:
        eido["callbackComponent"] = [
            {
                **_prologue(callback_id, request.created_at),
                "callBackInformationUri": [f"tel:{request.callback_number}"],
            }
        ]
    return eido
