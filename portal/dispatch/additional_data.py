"""A crisis plan as 911 "additional data": what a call-taker's CAD system shows when the
person's phone calls 911 (IETF RFC 7852 and NENA-STA-012.2).

Three blocks, each its own XML document with its own media type, fetched by reference
from the links the API look-up gives:
- EmergencyCallData.ProviderInfo: who holds the data (this program) and how to reach it;
- EmergencyCallData.NENA-CallerInfo: the person and the plan's contacts as vCards (xCard,
  RFC 6351), and in CallerSpecificData the link to the officer brief (text/html);
- EmergencyCallData.Comment: one line for the call-taker, "CIT requested. ...", so that a
  CAD that shows only text still shows what matters most.
The summary line is also in the look-up's JSON answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import phonenumbers
from babel import Locale
from flask import current_app

from portal.i18n import LANGUAGES
from portal.phones import DEFAULT_REGION
from portal.plans.brief import birth_date
from portal.plans.models import CrisisPlan
from portal.times import to_local

PROVIDER_INFO = "urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo"
COMMENT = "urn:ietf:params:xml:ns:EmergencyCallData:Comment"
CALLER_INFO = "urn:nena:xml:ns:EmergencyCallData:CallerInfo"
VCARD = "urn:ietf:params:xml:ns:vcard-4.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Block name (as in the Call-Info purpose "EmergencyCallData.<name>") -> namespace.
BLOCKS = {"ProviderInfo": PROVIDER_INFO, "NENA-CallerInfo": CALLER_INFO, "Comment": COMMENT}
for _prefix, _namespace in (("pi", PROVIDER_INFO), ("com", COMMENT), ("ci", CALLER_INFO), ("xc", VCARD)):
    ET.register_namespace(_prefix, _namespace)

SUMMARY_LIMIT = 300  # characters: one line on a CAD screen
PART_LIMIT = 80  # a family's answer quoted in the summary
# The call-taker's words for the plan's choices (terser than the form's labels).
COMMUNICATION = {
    "deaf": "Deaf or hard of hearing",
    "nonverbal": "Nonverbal or speaks very little",
    "autistic": "Autistic",
    "device": "Uses a communication device",
}


def media_type(block: str) -> str:
    return f"application/EmergencyCallData.{block}+xml"


def _short(text: object, limit: int = PART_LIMIT) -> str:
    """One line (no newlines from a long answer), cut at `limit` characters, without the
    full stop the summary adds itself."""
    words = " ".join(str(text or "").split()).rstrip(".")
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def call_taker_summary(plan: CrisisPlan) -> str:
    """One line, in English, what a call-taker needs first: "CIT requested. Needs an
    interpreter (Spanish). Deaf or hard of hearing. Helps: quiet voice. Avoid: standing
    close. Weapons in the home: yes. Plan confirmed 2026-11-02." The family's own words
    are quoted as they wrote them."""
    person = plan.details.get("person", {})
    crisis = plan.details.get("crisis", {})
    parts = ["CIT requested." if plan.cit_requested else "No CIT request on the plan."]
    if plan.person_confirmed_at is None:
        parts.append("Filed by family, not confirmed by the person.")
    if person.get("interpreter") == "yes":
        spoken = _short(person.get("spoken_language"), 40)
        parts.append(f"Needs an interpreter ({spoken})." if spoken else "Needs an interpreter.")
    elif person.get("spoken_language") and language_tag(person["spoken_language"]) != "en":
        parts.append(f"Speaks {_short(person.get('spoken_language'), 40)} best.")
    needs = [COMMUNICATION[code] for code in person.get("communication") or [] if code in COMMUNICATION]
    if needs:
        parts.append("; ".join(needs) + ".")
    if crisis.get("what_helps"):
        parts.append(f"Helps: {_short(crisis['what_helps'])}.")
    if crisis.get("what_to_avoid"):
        parts.append(f"Avoid: {_short(crisis['what_to_avoid'])}.")
    for field, words in (("weapons", "Weapons in the home"), ("self_harm", "Risk of self-harm")):
        if crisis.get(field) in ("yes", "unsure"):
            parts.append(f"{words}: {'yes' if crisis[field] == 'yes' else 'family unsure'}.")
    # The date as a CAD reads it, whatever the language of whoever asked.
    parts.append(f"Plan confirmed {to_local(plan.confirmed_at).date().isoformat()}.")
    summary = " ".join(parts)
    return summary if len(summary) <= SUMMARY_LIMIT else summary[: SUMMARY_LIMIT - 1].rstrip() + "…"


@lru_cache(maxsize=1)
def _language_tags() -> dict[str, str]:
    """A language's name, as people write it in any of the portal's languages ("Spanish",
    "español", "西班牙语"), lowercased -> its BCP 47 tag, from Babel's CLDR data."""
    tags: dict[str, str] = {}
    for reader in LANGUAGES:
        for code, name in Locale.parse(reader.catalogue).languages.items():
            if re.fullmatch(r"[a-z]{2,3}", code):
                tags.setdefault(name.casefold(), code)
    tags.update({"asl": "ase", "american sign language": "ase"})
    return tags


def language_tag(written: object) -> str | None:
    """The tag of the language a family named, or None when it cannot be told."""
    return _language_tags().get(" ".join(str(written or "").split()).casefold())


def _el(parent: ET.Element, namespace: str, name: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{namespace}}}{name}")
    if text is not None:
        element.text = text
    return element


def _vcard_text(parent: ET.Element, name: str, value: str) -> None:
    _el(_el(parent, VCARD, name), VCARD, "text", value)


def _vcard_tel(parent: ET.Element, e164: str, kind: str) -> None:
    tel = _el(parent, VCARD, "tel")
    _el(_el(_el(tel, VCARD, "parameters"), VCARD, "type"), VCARD, "text", kind)
    _el(tel, VCARD, "uri", "tel:" + e164)


def person_vcard(parent: ET.Element, plan: CrisisPlan) -> None:
    person = plan.details.get("person", {})
    card = _el(parent, VCARD, "vcard")
    _vcard_text(card, "kind", "individual")
    _vcard_text(card, "fn", str(person.get("name") or ""))
    if person.get("preferred_name"):
        _vcard_text(card, "nickname", str(person["preferred_name"]))
    born = birth_date(person)
    if born is not None:
        _el(_el(card, VCARD, "bday"), VCARD, "date", born.strftime("%Y%m%d"))
    tag = language_tag(person.get("spoken_language"))
    if tag is not None:
        lang = _el(card, VCARD, "lang")
        _el(_el(_el(lang, VCARD, "parameters"), VCARD, "pref"), VCARD, "integer", "1")
        _el(lang, VCARD, "language-tag", tag)
    for phone in plan.phones:
        if phone.role == "person":
            _vcard_tel(card, phone.number, "cell")
    if person.get("description"):
        _vcard_text(card, "note", " ".join(str(person["description"]).split()))


def contact_vcards(parent: ET.Element, plan: CrisisPlan) -> None:
    """The emergency contacts, one vCard a line of what the family wrote ("Mother,
    (314) 555-0133"): the number found by libphonenumber's matcher, the rest as the name."""
    written = str(plan.details.get("people", {}).get("emergency_contacts") or "")
    for line in filter(None, (line.strip(" ,;") for line in re.split(r"[\n;]+", written))):
        matches = list(phonenumbers.PhoneNumberMatcher(line, DEFAULT_REGION))
        name = line
        for match in reversed(matches):
            name = name[: match.start] + name[match.end :]
        card = _el(parent, VCARD, "vcard")
        _vcard_text(card, "kind", "individual")
        _vcard_text(card, "fn", " ".join(name.replace(" ,", ",").split()).strip(" ,;:-") or line)
        for match in matches:
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            _vcard_tel(card, e164, "voice")
        _vcard_text(card, "related", "emergency contact")


def _reference(plan: CrisisPlan, link_id: int, block: str) -> str:
    """DataProviderReference: unique per block and per link, "K7QM-3XPA.41.Comment@host"."""
    host = urlsplit(current_app.config["PORTAL_SETTINGS"].public_url).hostname or "localhost"
    return f"{plan.reference}.{link_id}.{block}@{host}"


def provider_info(plan: CrisisPlan, link_id: int) -> ET.Element:
    agency = current_app.extensions["agency"]
    host = urlsplit(current_app.config["PORTAL_SETTINGS"].public_url).hostname or "localhost"
    root = ET.Element(f"{{{PROVIDER_INFO}}}EmergencyCallData.ProviderInfo")
    _el(root, PROVIDER_INFO, "DataProviderReference", _reference(plan, link_id, "ProviderInfo"))
    _el(root, PROVIDER_INFO, "DataProviderString", f"{agency.campaign_name} ({agency.program_contact_name})")
    _el(root, PROVIDER_INFO, "ProviderID", host)
    _el(root, PROVIDER_INFO, "ProviderIDSeries", "domain")
    _el(root, PROVIDER_INFO, "TypeOfProvider", "Other")
    contact = agency.program_contact_phone or ""
    _el(
        root,
        PROVIDER_INFO,
        "ContactURI",
        f"tel:{contact}" if contact else current_app.config["PORTAL_SETTINGS"].public_url,
    )
    _el(root, PROVIDER_INFO, "Language", "en")
    card = _el(_el(root, PROVIDER_INFO, "DataProviderContact"), VCARD, "vcard")
    _vcard_text(card, "kind", "org")
    _vcard_text(card, "fn", agency.program_contact_name)
    return root


def caller_info(plan: CrisisPlan, link_id: int, brief_url: str) -> ET.Element:
    root = ET.Element(f"{{{CALLER_INFO}}}EmergencyCallData.NENA-CallerInfo")
    _el(root, CALLER_INFO, "DataProviderReference", _reference(plan, link_id, "NENA-CallerInfo"))
    cards = _el(root, CALLER_INFO, "CallerData")
    person_vcard(cards, plan)
    contact_vcards(cards, plan)
    _el(root, CALLER_INFO, "CallerSpecificData", brief_url)
    _el(root, CALLER_INFO, "CallerSpecificType", "text/html")
    return root


def comment(plan: CrisisPlan, link_id: int) -> ET.Element:
    root = ET.Element(f"{{{COMMENT}}}EmergencyCallData.Comment")
    _el(root, COMMENT, "DataProviderReference", _reference(plan, link_id, "Comment"))
    _el(root, COMMENT, "Comment", call_taker_summary(plan)).set(XML_LANG, "en")
    return root


BUILDERS: dict[str, Callable[..., ET.Element]] = {
    "ProviderInfo": lambda plan, link_id, brief_url: provider_info(plan, link_id),
    "NENA-CallerInfo": caller_info,
    "Comment": lambda plan, link_id, brief_url: comment(plan, link_id),
}


def block(name: str, plan: CrisisPlan, link_id: int, brief_url: str) -> bytes:
    """One block as an XML document (UTF-8, with its declaration)."""
    element = BUILDERS[name](plan, link_id, brief_url)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))
