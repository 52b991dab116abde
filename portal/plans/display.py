"""A plan's answers as labelled sections, for the registrant, the print-out and the console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import Field

from portal.plans.drafts import to_formdata
from portal.plans.filing import FORM_STEPS
from portal.plans.models import CrisisPlan


@dataclass(frozen=True)
class Answer:
    label: str
    text: str


@dataclass(frozen=True)
class Section:
    slug: str
    title: Any
    answers: list[Answer]


def answer_text(field: Field) -> str:
    """What a person chose or wrote, as text (choices by their labels)."""
    choices = dict(getattr(field, "choices", None) or [])
    if isinstance(field.data, list):
        return ", ".join(str(choices.get(value, value)) for value in field.data)
    if isinstance(field.data, date):
        return field.data.isoformat()
    if choices:
        return str(choices.get(field.data, field.data or ""))
    return str(field.data or "")


def plan_sections(plan: CrisisPlan) -> list[Section]:
    sections = []
    for step in FORM_STEPS:
        if step.slug not in plan.details or step.form is None:
            continue
        raw = to_formdata(plan.details[step.slug])
        form = step.form(
            formdata=MultiDict([(k, v) for k, values in raw.items() for v in values]), meta={"csrf": False}
        )
        answers = [
            Answer(str(field.label.text), answer_text(field))
            for field in form
            if field.name not in ("csrf_token", "website") and answer_text(field)
        ]
        sections.append(Section(step.slug, step.title, answers))
    return sections
