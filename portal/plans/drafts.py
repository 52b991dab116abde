"""Form drafts: kept on the server, encrypted, 7 days; the browser holds only the id.

A new plan's draft id is also kept in a cookie of its own that outlives the browser
(the session cookie does not), so "come back within 7 days on this device" holds after
a restart. A draft that edits a plan stays tied to the sign-in that made it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, after_this_request, current_app, request, session
from sqlalchemy import delete
from werkzeug.datastructures import MultiDict

from portal.database import utcnow
from portal.extensions import db
from portal.plans import sessions
from portal.plans.models import DRAFT_LIFETIME, CrisisPlan, PlanDraft

SESSION_KEY = "plan_draft"
COOKIE = "plan_draft"


def _remember_on_device(draft_id: str | None) -> None:
    """Set (or, with None, clear) the long-lived cookie on this request's response."""

    @after_this_request
    def _cookie(response: Response) -> Response:
        if draft_id is None:
            response.delete_cookie(COOKIE, path="/", samesite="Lax")
        else:
            response.set_cookie(
                COOKIE,
                draft_id,
                max_age=int(DRAFT_LIFETIME.total_seconds()),
                path="/",
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
        return response


def current_draft() -> PlanDraft | None:
    draft_id = session.get(SESSION_KEY) or request.cookies.get(COOKIE)
    if not draft_id:
        return None
    draft = db.session.get(PlanDraft, draft_id)
    # A draft that edits a plan holds the whole plan: it lives only as long as the
    # sign-in that made it (a shared phone must not show it to the next person).
    signed_out = (
        draft is not None and draft.plan_id is not None and sessions.signed_in_plan_id() != draft.plan_id
    )
    if draft is None or draft.expires_at < utcnow() or signed_out:
        session.pop(SESSION_KEY, None)
        if request.cookies.get(COOKIE):
            _remember_on_device(None)
        return None
    if session.get(SESSION_KEY) != draft.id:
        session[SESSION_KEY] = draft.id  # found by the device cookie after a restart
    return draft


def start_draft(plan: CrisisPlan | None = None) -> PlanDraft:
    """A new draft; to edit a plan, it starts from the plan's current answers."""
    answers: dict[str, Any] = {}
    if plan is not None:
        answers = {
            step: to_formdata(values) for step, values in plan.details.items() if isinstance(values, dict)
        }
        answers["phones"] = [{"number": p.number, "role": p.role, "verified": True} for p in plan.phones]
        answers["consent"] = to_formdata(
            {
                "cit_requested": "yes" if plan.cit_requested else "no",
                "filed_by": plan.filed_by,
                "guardian_statement": plan.filed_by == "guardian",
                "language": plan.language,
            }
        )
    draft = PlanDraft(
        plan_id=plan.id if plan else None,
        answers=answers,
        photo_jpeg=plan.photo.jpeg if plan and plan.photo else None,
    )
    db.session.add(draft)
    db.session.commit()
    session[SESSION_KEY] = draft.id
    if plan is None:
        _remember_on_device(draft.id)
    return draft


def save_answers(draft: PlanDraft, step: str, formdata: MultiDict[str, str]) -> None:
    """Keep exactly what was typed, valid or not, so an error never loses anything."""
    raw = {key: formdata.getlist(key) for key in formdata if key not in ("csrf_token", "website")}
    keep_answers(draft, step, raw)


def keep_answers(draft: PlanDraft, step: str, answers: Any) -> None:
    """Store one step's answers; a new plan's cookie lives 7 days from this change too."""
    draft.answers = {**draft.answers, step: answers}
    draft.updated_at = utcnow()
    db.session.commit()
    if draft.plan_id is None:
        _remember_on_device(draft.id)


def saved_formdata(draft: PlanDraft, step: str) -> MultiDict[str, str] | None:
    raw = draft.answers.get(step)
    if not raw:
        return None
    return MultiDict([(key, value) for key, values in raw.items() for value in values])


def to_formdata(values: dict[str, Any]) -> dict[str, list[str]]:
    """Cleaned form data (as stored in a plan) back to what a browser would post."""
    raw: dict[str, list[str]] = {}
    for key, value in values.items():
        if value is None or value is False or value == "":
            continue
        if isinstance(value, list):
            raw[key] = [str(item) for item in value]
        elif value is True:
            raw[key] = ["y"]
        elif isinstance(value, date):
            raw[key] = [value.isoformat()]
        else:
            raw[key] = [str(value)]
    return raw


def discard(draft: PlanDraft) -> None:
    db.session.delete(draft)
    db.session.commit()
    session.pop(SESSION_KEY, None)
    _remember_on_device(None)


def delete_expired_drafts() -> None:
    """Scheduled: drafts live 7 days after their last change."""
    db.session.execute(delete(PlanDraft).where(PlanDraft.updated_at < utcnow() - DRAFT_LIFETIME))
    db.session.commit()
