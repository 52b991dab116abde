"""The agency and region facts of this deployment, read from one TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time
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


# What a partner that takes hand-offs from 911 does.
HANDOFF_ROLES = ("crisis_line", "co_responder", "follow_up")


@dataclass(frozen=True)
class Shift:
    start: time
    end: time  # may be after midnight: 22:00-06:00

    def covers(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class HandoffPartner:
    """A partner organisation 911 hands CIT requests to (agency.toml [[handoff_partners]])."""

    key: str
    name: str
    role: str
    # When it takes hand-offs, on the agency's clock; none: around the clock.
    shifts: tuple[Shift, ...] = ()

    def on_shift(self, local_time: time) -> bool:
        return not self.shifts or any(shift.covers(local_time) for shift in self.shifts)


def _shift(text: str) -> Shift:
    start, _, end = text.partition("-")
    return Shift(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))


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
    handoff_partners: tuple[HandoffPartner, ...] = ()
    # Where a person may be taken or referred after a crisis (drop-off records).
    facilities: tuple[str, ...] = ()

    def handoff_partner(self, key: str) -> HandoffPartner | None:
        return next((partner for partner in self.handoff_partners if partner.key == key), None)


def load_agency(path: Path) -> Agency:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    partners = tuple(Partner(**partner) for partner in data.pop("partners", ()))
    unknown = {partner.kind for partner in partners} - PARTNER_KINDS.keys()
    if unknown:
        raise ValueError(f"{path}: unknown partner kind {sorted(unknown)}")
    streets = tuple(data.pop("streets", ()))
    handoff_partners = tuple(
        HandoffPartner(
            key=item["key"],
            name=item["name"],
            role=item["role"],
            shifts=tuple(_shift(text) for text in item.get("shifts", ())),
        )
        for item in data.pop("handoff_partners", ())
    )
    roles = {partner.role for partner in handoff_partners} - set(HANDOFF_ROLES)
    if roles:
        raise ValueError(f"{path}: unknown hand-off partner role {sorted(roles)}")
    facilities = tuple(data.pop("facilities", ()))
    return Agency(
        partners=partners,
        streets=streets,
        handoff_partners=handoff_partners,
        facilities=facilities,
        **data,
    )
