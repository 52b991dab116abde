"""The crisis-plan registry's operations, used by the registry pages, the SMS line and
the console alike."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal.crypto import vault
from portal.database import checkpoint_after_commit, utcnow
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.messaging.outbox import queue_message
from portal.phones import InvalidPhone, phone_index, to_e164
from portal.plans.models import (
    CrisisPlan,
    PlanDraft,
    PlanNameIndex,
    PlanPhone,
    PlanPhoto,
    birth_index_key,
    new_reference,
)
from portal.plans.names import plan_keys, search_keys

# Who may file, and whether the person must still confirm (an adult filed for by family).
FILED_BY = ("self", "parent", "guardian", "family")


def find_plans_by_phone(number: str) -> list[CrisisPlan]:
    """Every plan linked to this phone, however the number is written."""
    try:
        index = phone_index(to_e164(number))
    except InvalidPhone:
        return []
    query = (
        select(CrisisPlan)
        .join(PlanPhone)
        # A pending phone is one nobody has shown they hold yet: it finds no plan.
        .where(PlanPhone.number_index == index, PlanPhone.role != "pending")
        .order_by(CrisisPlan.id)
    )
    return list(db.session.scalars(query).unique())


def find_plan_by_reference(reference: str) -> CrisisPlan | None:
    normalized = reference.strip().upper().replace(" ", "")
    if len(normalized) == 8:
        normalized = f"{normalized[:4]}-{normalized[4:]}"
    return db.session.scalar(select(CrisisPlan).where(CrisisPlan.reference == normalized))


def find_plans_by_name_and_birth(name: str, born: date) -> list[CrisisPlan]:
    """Every plan with this date of birth whose full name, or the name the person likes
    to be called with their family name, is this name: case, accents, punctuation, spaces
    and word order aside (portal.plans.names). Only keyed hashes are compared."""
    indexes = sorted({vault().blind_index(key) for key in search_keys(name, born)})
    if not indexes:
        return []
    matching = select(PlanNameIndex.plan_id).where(PlanNameIndex.name_index.in_(indexes))
    query = select(CrisisPlan).where(CrisisPlan.id.in_(matching)).order_by(CrisisPlan.id)
    return list(db.session.scalars(query))


def _index_names(plan: CrisisPlan, details: dict[str, Any], name: str, born: date) -> None:
    """(Re)write the keyed hashes the plan is found by: its name look-up never decrypts."""
    plan.name_birth_index = vault().blind_index(birth_index_key(name, born))
    if plan.id is not None:
        db.session.execute(delete(PlanNameIndex).where(PlanNameIndex.plan_id == plan.id))
    preferred = str((details.get("person") or {}).get("preferred_name") or "")
    for index in sorted({vault().blind_index(key) for key in plan_keys(name, born, preferred)}):
        db.session.add(PlanNameIndex(plan=plan, name_index=index))


def file_plan(
    details: dict[str, Any],
    *,
    name: str,
    born: date,
    language: str,
    cit_requested: bool,
    filed_by: str,
    phones: list[tuple[str, str]],
    photo_jpeg: bytes | None = None,
) -> CrisisPlan:
    """Store a new plan with its verified phones (E.164, role) and photo; not committed."""
    if filed_by not in FILED_BY:
        raise ValueError(filed_by)
    # Only the person can vouch for an adult's plan filed by family; the person, a
    # parent of a minor or a guardian can file on their own authority.
    confirmed = None if filed_by == "family" else utcnow()
    plan = CrisisPlan(
        reference=_unused_reference(),
        language=language,
        cit_requested=cit_requested,
        filed_by=filed_by,
        person_confirmed_at=confirmed,
        details=details,
    )
    _index_names(plan, details, name, born)
    plan.phones = [
        PlanPhone(number=number, number_index=phone_index(number), role=role) for number, role in phones
    ]
    if photo_jpeg is not None:
        plan.photo = PlanPhoto(jpeg=photo_jpeg)
    db.session.add(plan)
    return plan


def update_plan(
    plan: CrisisPlan,
    details: dict[str, Any],
    *,
    name: str,
    born: date,
    language: str,
    cit_requested: bool,
    filed_by: str,
    phones: list[tuple[str, str]],
    photo_jpeg: bytes | None = None,
) -> None:
    """Save an edited plan; saving it also re-confirms it for another 12 months."""
    plan.details = details
    plan.language = language
    plan.cit_requested = cit_requested
    if plan.filed_by != filed_by:
        plan.filed_by = filed_by
        plan.person_confirmed_at = None if filed_by == "family" else utcnow()
    _index_names(plan, details, name, born)
    kept = {phone.number: phone for phone in plan.phones}
    plan.phones = [
        _kept_phone(kept[number], role)
        if number in kept
        else PlanPhone(number=number, number_index=phone_index(number), role=role)
        for number, role in phones
    ]
    if photo_jpeg is None:
        plan.photo = None
    elif plan.photo is None:
        plan.photo = PlanPhoto(jpeg=photo_jpeg)
    else:
        plan.photo.jpeg = photo_jpeg
    renew_plan(plan)


def _kept_phone(phone: PlanPhone, role: str) -> PlanPhone:
    phone.role = role
    return phone


def renew_plan(plan: CrisisPlan) -> None:
    plan.confirmed_at = utcnow()
    plan.reminder_sent = None


def _unused_reference() -> str:
    while True:
        reference = new_reference()
        if db.session.scalar(select(CrisisPlan.id).where(CrisisPlan.reference == reference)) is None:
            return reference


def withdraw_plan(plan: CrisisPlan) -> None:
    """Delete the plan with its phones, photo and drafts: deleted, not hidden (not even
    in SQLite's write-ahead log once the caller commits)."""
    db.session.execute(db.delete(PlanDraft).where(PlanDraft.plan_id == plan.id))
    db.session.delete(plan)
    checkpoint_after_commit(db.session)


def decline_plan(plan: CrisisPlan) -> int:
    """The person a family member filed for does not agree: the plan is deleted as a
    withdrawal is, and whoever filed it is told by text, with nothing from the plan in
    the text (not even the person's name; the reference code is theirs already).
    Returns how many phones are told. Not committed."""
    filers = [phone.number for phone in plan.phones if phone.role == "filer"]
    with force_locale(BY_CODE[plan.language].catalogue):
        body = _(
            "Crisis plan %(reference)s is deleted. The person it was made for "
            "did not agree with it. Dispatch can no longer see it.",
            reference=plan.reference,
        )
    withdraw_plan(plan)
    for number in filers:
        queue_message(to=number, body=body, sender="notices", purpose="plan_declined")
    return len(filers)
