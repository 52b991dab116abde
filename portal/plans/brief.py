"""The officer brief: a plan in the order an officer needs it, readable in 90 seconds on
a phone. The console's plan page and the officer card (portal.responders) show the same
brief; neither may open a plan without writing its audit row first."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import to_user_timezone
from PIL import Image

from portal.phones import for_display
from portal.plans.display import Answer, Section, plan_sections
from portal.plans.forms import FORM_STEPS, age_on
from portal.plans.models import CrisisPlan

# What an officer needs first: who to look for and how to talk with them; then how to
# calm things down and what is dangerous. Everything else follows.
WHO = ("description", "communication", "spoken_language", "interpreter")
CALM_AND_SAFETY = (
    "what_helps",
    "what_to_avoid",
    "triggers",
    "other_triggers",
    "weapons",
    "self_harm",
    "safety_notes",
)


@dataclass(frozen=True)
class Photo:
    data_uri: str
    width: int
    height: int


def photo_of(plan: CrisisPlan) -> Photo | None:
    """The plan's photo inline (a data: URI), so it has no URL of its own that could be
    fetched without the audited view."""
    if plan.photo is None:
        return None
    with Image.open(io.BytesIO(plan.photo.jpeg)) as image:  # reads the header only
        width, height = image.size
    encoded = base64.b64encode(plan.photo.jpeg).decode("ascii")
    return Photo(f"data:image/jpeg;base64,{encoded}", width, height)


def birth_date(person: dict[str, object]) -> date | None:
    try:
        return date.fromisoformat(str(person.get("birth_date") or ""))
    except ValueError:
        return None


def answers_by_field(sections: list[Section]) -> dict[str, dict[str, Answer]]:
    """Each section's labelled answers keyed by field name, so that the brief can put
    them in the order an officer needs."""
    forms = {step.slug: step.form for step in FORM_STEPS if step.form is not None}
    keyed = {}
    for section in sections:
        blank = forms[section.slug](formdata=None, meta={"csrf": False})
        names = {str(field.label.text): field.name for field in blank}
        keyed[section.slug] = {names[answer.label]: answer for answer in section.answers}
    return keyed


def plan_marks(plan: CrisisPlan) -> list[str]:
    """Who vouches for the plan: shown on the brief and in the look-up's results."""
    marks = []
    if plan.filed_by == "guardian":
        marks.append(_("Filed by legal guardian"))
    elif plan.filed_by == "parent":
        marks.append(_("Filed by a parent"))
    elif plan.filed_by == "family":
        marks.append(_("Filed by family"))
    if plan.person_confirmed_at is None:
        marks.append(_("Not confirmed by the person"))
    return marks


def brief(plan: CrisisPlan, now: datetime) -> dict[str, object]:
    """What templates/macros/brief.html shows, and the plan's other sections."""
    person = plan.details.get("person", {})
    sections = plan_sections(plan)
    answers = answers_by_field(sections)
    crisis = answers.get("crisis", {})
    born = birth_date(person)
    return {
        "plan": plan,
        "person": person,
        "photo": photo_of(plan),
        "born": born,
        "age": age_on(born, to_user_timezone(now).date()) if born else None,
        "who": [answers["person"][name] for name in WHO if name in answers.get("person", {})],
        "marks": plan_marks(plan),
        "calm_and_safety": [crisis[name] for name in CALM_AND_SAFETY if name in crisis],
        "crisis_rest": [answer for name, answer in crisis.items() if name not in CALM_AND_SAFETY],
        "contacts": list(answers.get("people", {}).values()),
        "sections": {section.slug: section for section in sections},
        "phones": [(for_display(phone.number), phone.role) for phone in plan.phones],
        "now": now,
    }
