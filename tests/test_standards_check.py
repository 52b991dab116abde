"""The 911 data validators (tests/standards_check.py) accept documents written from the
standards' own text and examples, and reject the mistakes a producer is likely to make.

Every document below is written by hand: the RFC 7852 blocks follow the RFC's examples
(also reproduced in NENA's sample EIDO), the CallerInfo block follows NENA-STA-012.2's
element list, and the EIDO follows the tables of NENA-STA-021.1a.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.standards_check import (
    STANDARDS,
    eido_schema_dir,
    eido_schema_problems,
    validate_additional_data,
    validate_eido,
)

PI = "urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo"
COM = "urn:ietf:params:xml:ns:EmergencyCallData:Comment"
CI = "urn:nena:xml:ns:EmergencyCallData:CallerInfo"
VC = "urn:ietf:params:xml:ns:vcard-4.0"

# After RFC 7852's data provider example (section 4.1), with a shorter xCard (RFC 6351).
PROVIDER_INFO = f"""<?xml version="1.0" encoding="UTF-8"?>
<ad:EmergencyCallData.ProviderInfo xmlns:ad="{PI}">
  <ad:DataProviderReference>string0987654321@example.org</ad:DataProviderReference>
  <ad:DataProviderString>Smith Telecom Inc.</ad:DataProviderString>
  <ad:ProviderID>urn:nena:companyid:ID123</ad:ProviderID>
  <ad:ProviderIDSeries>NENA</ad:ProviderIDSeries>
  <ad:TypeOfProvider>Telecom Provider</ad:TypeOfProvider>
  <ad:ContactURI>tel:+1-201-555-0123</ad:ContactURI>
  <ad:Language>en</ad:Language>
  <ad:DataProviderContact xmlns="{VC}">
    <vcard>
      <fn><text>John Smith</text></fn>
      <n><surname>Smith</surname><given>John</given><additional/><prefix/><suffix>ENP</suffix></n>
      <lang><parameters><pref><integer>1</integer></pref></parameters><language-tag>en</language-tag></lang>
      <tel><parameters><type><text>work</text><text>voice</text></type></parameters><uri>tel:+1-800-123-4567</uri></tel>
    </vcard>
  </ad:DataProviderContact>
</ad:EmergencyCallData.ProviderInfo>
"""

# RFC 7852's comment example (section 4.5), as NENA's sample EIDO carries it.
COMMENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<com:EmergencyCallData.Comment xmlns:com="{COM}">
  <com:DataProviderReference>string0987654321@example.org</com:DataProviderReference>
  <com:Comment xml:lang="en">This is an example text.</com:Comment>
</com:EmergencyCallData.Comment>
"""

# NENA-STA-012.2's caller block: who the caller is (xCards) and where their own data is.
CALLER_INFO = f"""<?xml version="1.0" encoding="UTF-8"?>
<ci:EmergencyCallData.NENA-CallerInfo xmlns:ci="{CI}">
  <ci:DataProviderReference>plan-4711@callforthepin.example.org</ci:DataProviderReference>
  <ci:CallerData>
    <vcard xmlns="{VC}">
      <fn><text>Alex Doe</text></fn>
      <n><surname>Doe</surname><given>Alex</given><additional/><prefix/><suffix/></n>
      <bday><date>19900101</date></bday>
      <gender><sex>U</sex></gender>
      <lang><parameters><pref><integer>1</integer></pref></parameters><language-tag>es</language-tag></lang>
      <related>
        <parameters><type><text>emergency</text></type></parameters>
        <uri>tel:+1-314-555-0100</uri>
      </related>
    </vcard>
  </ci:CallerData>
  <ci:CallerSpecificData>https://callforthepin.example.org/plans/4711</ci:CallerSpecificData>
  <ci:CallerSpecificType>crisis-plan</ci:CallerSpecificType>
</ci:EmergencyCallData.NENA-CallerInfo>
"""


def sample_eido() -> dict[str, Any]:
    path = STANDARDS / "eido" / "Sample call transfer EIDO.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def rejected(xml: str) -> str:
    with pytest.raises(AssertionError) as raised:
        validate_additional_data(xml.encode())
    return str(raised.value)


@pytest.mark.parametrize(
    "xml", [PROVIDER_INFO, COMMENT, CALLER_INFO], ids=["ProviderInfo", "Comment", "CallerInfo"]
)
def test_blocks_written_from_the_standards_pass(xml: str) -> None:
    validate_additional_data(xml.encode())


def test_the_rfc_7852_blocks_in_nenas_sample_eido_pass() -> None:
    blocks = [component["additionalDataByValue"] for component in sample_eido()["additionalDataComponent"]]
    checked = [block for block in blocks if PI in block or COM in block]
    assert len(checked) == 2  # the sample's ProviderInfo and Comment; its ServiceInfo has no list here
    for block in checked:
        validate_additional_data(block.encode())


def test_a_block_without_its_data_provider_reference_fails() -> None:
    xml = PROVIDER_INFO.replace(
        "<ad:DataProviderReference>string0987654321@example.org</ad:DataProviderReference>", ""
    )
    assert "<DataProviderReference> is required" in rejected(xml)


def test_a_block_in_a_namespace_nothing_is_recorded_for_fails() -> None:
    assert "no schema or element list" in rejected(COMMENT.replace(COM, COM + "s"))


def test_children_in_another_blocks_namespace_fail() -> None:
    # The Comment block's elements written in the ProviderInfo namespace.
    xml = COMMENT.replace('xmlns:com="', f'xmlns:pi="{PI}" xmlns:com="').replace("<com:D", "<pi:D")
    xml = xml.replace("</com:DataProviderReference>", "</pi:DataProviderReference>")
    assert "<DataProviderReference> is required" in rejected(xml)


def test_children_in_no_namespace_fail() -> None:
    xml = CALLER_INFO.replace("<ci:CallerSpecificType>crisis-plan</ci:CallerSpecificType>", "<Note>x</Note>")
    assert "<Note> in namespace None is not allowed" in rejected(xml)


def test_an_element_the_block_does_not_define_fails() -> None:
    xml = PROVIDER_INFO.replace(
        "<ad:Language>en</ad:Language>", "<ad:Language>en</ad:Language><ad:Hours>24/7</ad:Hours>"
    )
    assert "<Hours> is not an element of EmergencyCallData.ProviderInfo" in rejected(xml)


def test_children_out_of_the_schema_order_fail() -> None:
    xml = PROVIDER_INFO.replace("<ad:ContactURI>tel:+1-201-555-0123</ad:ContactURI>", "").replace(
        "<ad:Language>en</ad:Language>",
        "<ad:Language>en</ad:Language><ad:ContactURI>tel:+1-201-555-0123</ad:ContactURI>",
    )
    assert "<ContactURI> comes after <Language>" in rejected(xml)


def test_a_caller_specific_data_that_is_not_a_uri_fails() -> None:
    xml = CALLER_INFO.replace("https://callforthepin.example.org/plans/4711", "plan 4711")
    assert "<CallerSpecificData> is not a URI" in rejected(xml)


def test_an_xcard_breaking_rfc_6351_fails() -> None:
    # RFC 6351: <sex> is one of "", M, F, O, N, U; <n> has all five parts, even when empty.
    assert "vcard (RFC 6351)" in rejected(CALLER_INFO.replace("<sex>U</sex>", "<sex>X</sex>"))
    assert "vcard (RFC 6351)" in rejected(PROVIDER_INFO.replace("<additional/><prefix/>", ""))


def test_malformed_xml_fails() -> None:
    assert "not well-formed" in rejected(COMMENT.replace("</com:EmergencyCallData.Comment>", ""))


# --- EIDO ----------------------------------------------------------------------------------

AGENCY = "psap.example.gov"
AGENT = "calltaker7@psap.example.gov"
STAMP = "2026-11-26T14:40:00-06:00"


def prologue(component_id: str) -> dict[str, Any]:
    return {
        "$id": component_id,
        "lastUpdateTimeStamp": STAMP,
        "updatedByAgencyReference": {"$ref": AGENCY},
        "updatedByAgentReference": {"$ref": AGENT},
    }


def cit_eido() -> dict[str, Any]:
    """A CIT request, component by component from NENA-STA-021.1a's tables."""
    person, location, note, plan, unit = (
        f"urn:emergency:uid:eidodatacomponent:{name}:{AGENCY}" for name in ("p1", "l1", "n1", "a1", "r1")
    )
    return {
        **prologue(f"urn:emergency:uid:incidentid:a56e556d871:{AGENCY}"),
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"chfe.{AGENCY}",
        "agencyComponent": [
            {
                **prologue(AGENCY),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                "agencyType": ["psap"],
            }
        ],
        "agentComponent": [
            {**prologue(AGENT), "agentRoleRegistryText": ["CallTaking"], "agencyReference": {"$ref": AGENCY}}
        ],
        "incidentComponent": {
            **prologue(f"urn:emergency:uid:eidodatacomponent:i1:{AGENCY}"),
            "incidentTypeCommonRegistryText": "MNTL",
            "personReference": [{"$ref": person}],
            "locationReference": [{"$ref": location}],
            "notesReference": [{"$ref": note}],
            "dispositionComponent": [
                {
                    **prologue(f"urn:emergency:uid:eidodatacomponent:d1:{AGENCY}"),
                    "dispositionCommonRegistryCode": "18",
                    "dispositionPrimaryIndicator": True,
                    "dispositionCategoryText": "BHR-DIVERT",
                    "dispositionDescriptionText": "Settled by the crisis team on scene",
                }
            ],
        },
        "personComponent": [
            {
                **prologue(person),
                "personIncidentRoleRegistryText": ["Patient"],
                "ncPersonComponent": {
                    "name": [{"personGivenName": [{"value": "Alex"}], "personSurName": [{"value": "Doe"}]}],
                    "primaryLanguage": [{"languageName": [{"value": "Spanish"}]}],
                },
                "additionalDataReference": [{"$ref": plan}],
            }
        ],
        "additionalDataComponent": [
            {
                **prologue(plan),
                "additionalDataByReferenceUrl": "https://callforthepin.example.org/plans/4711",
                "urlPurpose": "EmergencyCallData.NENA-CallerInfo",
            }
        ],
        "notesComponent": [
            {
                **prologue(note),
                "notesActionComments": "<p>CIT requested. Calm voice helps.</p>",
                "agentReference": {"$ref": AGENT},
            }
        ],
        "locationComponent": [
            {
                **prologue(location),
                "locationTypeDescriptionRegistryText": "CurrentIncident",
                "locationByReferenceUrl": "https://lis.example.gov/locations/99",
            }
        ],
        "emergencyResourceComponent": [
            {
                **prologue(unit),
                "emergencyResourceTypeCommonRegistryText": "CrisisInterventionUnit",
                "resourceAttributeRegistryText": ["CrisisInterventionSpecialist"],
                "primaryUnitStatusRegistryText": "Available",
                "secondaryUnitStatusRegistryText": ["Assigned"],
                "agentReference": [{"$ref": AGENT}],
            }
        ],
    }


def eido_rejected(document: dict[str, Any]) -> str:
    with pytest.raises(AssertionError) as raised:
        validate_eido(document)
    return str(raised.value)


@pytest.mark.parametrize("document", [sample_eido(), cit_eido()], ids=["NENA sample", "CIT request"])
def test_eidos_written_from_the_standard_pass(document: dict[str, Any]) -> None:
    validate_eido(document)


def test_an_eido_without_the_required_agency_component_fails() -> None:
    document = cit_eido()
    del document["agencyComponent"]
    message = eido_rejected(document)
    assert "requires 'agencyComponent'" in message
    assert f"$ref '{AGENCY}' names no $id" in message  # every agency referenced is listed there


def test_an_incident_without_its_common_type_fails() -> None:
    document = cit_eido()
    del document["incidentComponent"]["incidentTypeCommonRegistryText"]
    assert "requires 'incidentTypeCommonRegistryText'" in eido_rejected(document)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(eidoVersion="2.0"), "'2.0' is not one of ['1.0']"),
        (
            lambda d: d.update(personComponents=d.pop("personComponent")),
            "'personComponents' is not a property",
        ),
        (
            lambda d: d["notesComponent"][0].update(lastUpdateTimeStamp="2026-11-26 14:40"),
            "not an RFC 3339 date-time",
        ),
        (lambda d: d["notesComponent"][0].update(agentReference=AGENT), "a reference is"),
        (lambda d: d["notesComponent"][0].update(agentReference={"$ref": "someone-else"}), "names no $id"),
        (
            lambda d: d["personComponent"][0].update(personIncidentRoleRegistryText="Patient"),
            "is a JSON array",
        ),
        (
            lambda d: d["personComponent"][0].update(personIncidentRoleRegistryText=["Subject"]),
            "EIDO-PersonRole",
        ),
        (
            lambda d: d["incidentComponent"]["dispositionComponent"][0].update(
                dispositionCommonRegistryCode="46"
            ),
            "EIDO-CommonDispositionCode",
        ),
        (lambda d: d["additionalDataComponent"][0].update(additionalDataByValue="<x/>"), "exactly one of"),
        (lambda d: d["emergencyResourceComponent"][0].pop("agentReference"), "requires 'agentReference'"),
    ],
    ids=[
        "version",
        "misspelt component",
        "timestamp",
        "reference as a string",
        "dangling reference",
        "array as a string",
        "person role",
        "disposition code",
        "data by value and by reference",
        "resource without agent",
    ],
)
def test_eido_mistakes_fail(change: Any, expected: str) -> None:
    document = copy.deepcopy(cit_eido())
    change(document)
    assert expected in eido_rejected(document)


needs_schema = pytest.mark.skipif(
    eido_schema_dir() is None,
    reason="NENA's EIDO schema is not on this machine (EIDO_SCHEMA_DIR, see SOURCES.md)",
)


@needs_schema
@pytest.mark.parametrize("document", [sample_eido(), cit_eido()], ids=["NENA sample", "CIT request"])
def test_eidos_pass_nenas_published_schema(document: dict[str, Any]) -> None:
    schema_dir = eido_schema_dir()
    assert schema_dir is not None
    assert eido_schema_problems(document, schema_dir) == []


@needs_schema
def test_nenas_published_schema_rejects_a_broken_eido() -> None:
    schema_dir = eido_schema_dir()
    assert schema_dir is not None
    document = cit_eido()
    del document["agencyComponent"]
    document["personComponent"][0]["ncPersonComponent"]["name"] = "Alex Doe"  # NIEM: an array of names
    problems = eido_schema_problems(document, schema_dir)
    assert "$: 'agencyComponent' is a required property" in problems
    if (schema_dir / "NIEMComponents" / "nc.yaml").is_file():
        assert any("ncPersonComponent.name" in problem for problem in problems)
