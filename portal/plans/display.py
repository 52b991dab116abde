"""A plan's answers as labelled sections, for the registrant, the print-out and the console."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from babel.lists import format_list
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import Field

from portal.database import utcnow
from portal.phones import for_display
from portal.plans.drafts import saved_formdata, to_formdata
from portal.plans.forms import FILED_BY_CHOICES, FORM_STEPS
from portal.plans.models import CrisisPlan, PlanDraft


@dataclass(frozen=True)
class Answer:
    label: str
    text: str
    # Several choices, each on its own line: joined into a sentence, "Deaf or hard of
    # hearing and Does not speak, or speaks very little" reads as one muddled need.
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    slug: str
    title: Any
    answers: list[Answer]


def answer_text(field: Field) -> str:
    """What a person chose or wrote, as text (choices by their labels)."""
    if isinstance(field.data, bool):
        return str(_("Yes")) if field.data else ""
    choices = dict(getattr(field, "choices", None) or [])
    if isinstance(field.data, list):
        # "Sirens, touch and loud voices" in the reader's own way of listing (Arabic "و").
        return format_list([str(choices.get(value, value)) for value in field.data], locale=get_locale())
    if isinstance(field.data, date):
        return str(format_date(field.data, "long"))
    if choices:
        return str(choices.get(field.data, field.data or ""))
    return str(field.data or "")


def answer_items(field: Field) -> tuple[str, ...]:
    """The labels of several chosen options; empty for any other answer."""
    if not isinstance(field.data, list) or len(field.data) < 2:
        return ()
    choices = dict(getattr(field, "choices", None) or [])
    return tuple(str(choices.get(value, value)) for value in field.data)


def photo_uri(jpeg: bytes | None) -> str | None:
    """The photo inside the page itself: no second URL that could be fetched on its own."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() if jpeg else None


def sections(answers: dict[str, MultiDict[str, str]]) -> list[Section]:
    """Each step's answers, as the step's labels and the words a person would read."""
    found = []
    for step in FORM_STEPS:
        if step.slug not in answers or step.form is None:
            continue
        form = step.form(formdata=answers[step.slug], meta={"csrf": False})
        shown = [
            Answer(str(field.label.text), answer_text(field), answer_items(field))
            for field in form
            if field.name not in ("csrf_token", "website") and answer_text(field)
        ]
        found.append(Section(step.slug, step.title, shown))
    return found


def plan_sections(plan: CrisisPlan) -> list[Section]:
    return sections(
        {
            slug: MultiDict([(k, v) for k, values in to_formdata(plan.details[slug]).items() for v in values])
            for slug in plan.details
            if isinstance(plan.details[slug], dict)
        }
    )


def draft_sections(draft: PlanDraft) -> list[Section]:
    answers = {step.slug: saved_formdata(draft, step.slug) for step in FORM_STEPS}
    return sections({slug: formdata for slug, formdata in answers.items() if formdata is not None})


def plan_context(plan: CrisisPlan) -> dict[str, object]:
    return {
        "phones": [(for_display(phone.number), phone) for phone in plan.phones],
        "photo_uri": photo_uri(plan.photo.jpeg if plan.photo else None),
        "expires_soon": plan.expires_at - utcnow() < timedelta(days=30),
        "just_confirmed": utcnow() - plan.confirmed_at < timedelta(days=1),
        "filed_by_labels": dict(FILED_BY_CHOICES),
    }
