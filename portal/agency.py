"""The agency and region facts of this deployment, read from one TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

# What each kind of partner does, translated; the agency file names the partners.
PARTNER_KINDS: dict[str, LazyString] = {
    "crisis_line": _l(
        "A crisis line open 24 hours a day. A counselor talks with you, helps you make a "
        "plan and can send a mobile crisis team."
    ),
    "lifeline": _l(
        "Call or text 988 any time for emotional support. It is free and private. "
        "You do not have to be in danger to call."
    ),
    "family_support": _l(
        "Free classes and support groups for people living with mental illness and their "
        "families. People who have lived through the same thing help you."
    ),
    "care_provider": _l(
        "Mental health care: counseling, medication and help after a crisis. Works with "
        "CIT officers to connect people with care."
    ),
    "state_department": _l(
        "The state agency for mental health. Helps you find services and treatment near you."
    ),
}


@dataclass(frozen=True)
class Partner:
    name: str
    kind: str
    phone: str
    website: str

    @property
    def description(self) -> LazyString:
        return PARTNER_KINDS[self.kind]


@dataclass(frozen=True)
class Agency:
    campaign_name: str
    region: str
    timezone: str
    cit_officers: int
    training_hours: int
    program_contact_name: str
    program_contact_phone: str
    program_contact_email: str
    partners: tuple[Partner, ...]

    @property
    def has_program_contact(self) -> bool:
        return bool(self.program_contact_phone or self.program_contact_email)

    # The region's streets, which help the text line tell "Grand and Olive" (a place)
    # from "crying and yelling"; a street not listed is still read by its type or number.
    streets: tuple[str, ...] = ()


def load_agency(path: Path) -> Agency:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    partners = tuple(Partner(**partner) for partner in data.pop("partners", ()))
    unknown = {partner.kind for partner in partners} - PARTNER_KINDS.keys()
    if unknown:
        raise ValueError(f"{path}: unknown partner kind {sorted(unknown)}")
    streets = tuple(data.pop("streets", ()))
    return Agency(partners=partners, streets=streets, **data)
