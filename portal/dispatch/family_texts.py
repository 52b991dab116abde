"""Texts to the family who filed a plan, when they chose them (CrisisPlan.notify_on_open,
notify_on_close): the plan was opened for a request, naming the kind of viewer and the
reason's category, never the plan's content; and, with the person's consent, the
request was closed, saying help was sent and who will follow up. In the plan's language,
from the notices number, through the outbox.

Both are called in the caller's transaction and queue at most what the rules allow:
one "opened" text per plan per request (a dispatcher opening it three times for one
request texts once), or, opened without a request, one per plan an hour; one "closed"
text per request. A phone that opted out (STOP) is never texted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from portal.database import utcnow
from portal.dispatch.handoffs import Partner
from portal.dispatch.models import CitRequest, OptOut
from portal.extensions import db
from portal.i18n import in_language
from portal.links import public_link
from portal.messaging.gateway import OPTED_OUT
from portal.messaging.outbox import OutboundMessage, queue_message
from portal.phones import phone_index
from portal.plans.models import CrisisPlan

# Who opened the plan, as the text names them.
VIEWER_KINDS = ("dispatcher", "partner", "officer")
# The outbox purposes of the two texts.
OPENED, CLOSED = "family_plan_opened", "family_request_closed"
# Opened without a request (a 911 call, a look-up): at most one text a plan in this time.
QUIET_WITHOUT_REQUEST = timedelta(hours=1)
# Who files a plan on their own authority: their closing text needs no one else's consent.
OWN_AUTHORITY = ("self", "parent", "guardian")


def opened_text(language: str, viewer_kind: str, *, for_request: bool, reference: str, url: str) -> str:
    """The "your plan was opened" text, in `language` (before the outbox puts the
    campaign's name in front of it). Whole sentences, one per kind of viewer, so that
    every language can order its words."""
    if viewer_kind not in VIEWER_KINDS:
        raise ValueError(f"unknown viewer kind {viewer_kind!r}")
    values = {"reference": reference, "url": url}
    # Each names the kind of reader only, never a person, and never what the plan holds.
    with_request: dict[str, Callable[[], str]] = {
        # Translators: an SMS to the family: their plan was opened for a CIT request. At most 3 SMS with the link.
        "dispatcher": lambda: _(
            "Crisis plan %(reference)s was opened by a 911 dispatcher for a CIT request. Who viewed it: %(url)s",
            **values,
        ),
        # Translators: an SMS to the family: their plan was opened for a CIT request. At most 3 SMS with the link.
        "partner": lambda: _(
            "Crisis plan %(reference)s was opened by a crisis partner for a CIT request. Who viewed it: %(url)s",
            **values,
        ),
        # Translators: an SMS to the family: their plan was opened for a CIT request. At most 3 SMS with the link.
        "officer": lambda: _(
            "Crisis plan %(reference)s was opened by a responding officer for a CIT request. "
            "Who viewed it: %(url)s",
            **values,
        ),
    }
    without_request: dict[str, Callable[[], str]] = {
        # Translators: an SMS to the family: their plan was opened, not for a CIT request (a 911 call, say).
        "dispatcher": lambda: _(
            "Crisis plan %(reference)s was opened by a 911 dispatcher. Who viewed it and why: %(url)s",
            **values,
        ),
        # Translators: an SMS to the family: their plan was opened, not for a CIT request. At most 3 SMS.
        "partner": lambda: _(
            "Crisis plan %(reference)s was opened by a crisis partner. Who viewed it and why: %(url)s",
            **values,
        ),
        # Translators: an SMS to the family: their plan was opened, not for a CIT request. At most 3 SMS.
        "officer": lambda: _(
            "Crisis plan %(reference)s was opened by a responding officer. Who viewed it and why: %(url)s",
            **values,
        ),
    }
    return in_language(language, (with_request if for_request else without_request)[viewer_kind])


def closed_text(language: str, *, follow_up: bool, reference: str) -> str:
    """The "request closed" text, in `language` (before the campaign's name)."""
    if follow_up:
        # Translators: an SMS to the family who filed a crisis plan, when the CIT request for the
        # person is closed, with a follow-up call to come. Nothing else about it. At most 3 SMS.
        return in_language(
            language,
            lambda: _(
                "Crisis plan %(reference)s: help was sent and the CIT request is now closed. "
                "A peer-support worker will call in the next few days.",
                reference=reference,
            ),
        )
    # Translators: an SMS to the family who filed a crisis plan, when the CIT request for the
    # person is closed. Nothing else about it. At most 3 SMS.
    return in_language(
        language,
        lambda: _(
            "Crisis plan %(reference)s: help was sent and the CIT request is now closed.",
            reference=reference,
        ),
    )


def access_log_link(plan: CrisisPlan) -> str:
    return public_link("plans.access_log", lang_code=plan.language)


def family_phones(plan: CrisisPlan) -> list[str]:
    """Who chose the texts: the phone of whoever filed the plan, and the person's own
    phone when they filed it themselves; none that opted out."""
    roles = ("filer", "person") if plan.filed_by == "self" else ("filer",)
    return [phone.number for phone in plan.phones if phone.role in roles and not opted_out(phone.number)]


def opted_out(number: str) -> bool:
    """The number sent STOP: to a number whose texts reach the portal (the line keeps
    it), or to the notices number, which Twilio then refuses to text (error 21610) until
    the phone sends START, after which a text to it is accepted again."""
    if db.session.get(OptOut, phone_index(number)) is not None:
        return True
    refused = select(OutboundMessage).where(
        OutboundMessage.sender == "notices", OutboundMessage.error_code == OPTED_OUT
    )
    last_refused = max(
        (message.id for message in db.session.scalars(refused) if message.to_number == number), default=None
    )
    if last_refused is None:
        return False
    accepted_since = select(OutboundMessage).where(
        OutboundMessage.sender == "notices",
        OutboundMessage.id > last_refused,
        OutboundMessage.accepted_at.is_not(None),
    )
    return not any(message.to_number == number for message in db.session.scalars(accepted_since))


def _lock(plan: CrisisPlan) -> None:
    """Two openings at once check "already texted?" one after the other: PostgreSQL locks
    the plan's row until the commit (SQLite's BEGIN IMMEDIATE already writes one at a time)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(CrisisPlan.id).where(CrisisPlan.id == plan.id).with_for_update())


def _already_told(plan: CrisisPlan, request: CitRequest | None) -> bool:
    """An "opened" text about this plan went for this request, or, without a request,
    within the last hour. The plan's reference in the body tells plans apart (two plans
    may share a family phone)."""
    query = select(OutboundMessage).where(OutboundMessage.purpose == OPENED)
    if request is not None:
        query = query.where(OutboundMessage.cit_request_id == request.id)
    else:
        query = query.where(
            OutboundMessage.cit_request_id.is_(None),
            OutboundMessage.created_at > utcnow() - QUIET_WITHOUT_REQUEST,
        )
    return any(plan.reference in message.body for message in db.session.scalars(query))


def plan_opened(plan: CrisisPlan, *, viewer_kind: str, request: CitRequest | None) -> None:
    """The plan was opened (by a dispatcher, a partner, an officer's card) for `request`."""
    if viewer_kind not in VIEWER_KINDS:
        raise ValueError(f"unknown viewer kind {viewer_kind!r}")
    if not plan.notify_on_open:
        return
    _lock(plan)
    db.session.flush()  # a text queued earlier in this transaction counts
    if _already_told(plan, request):
        return
    body = opened_text(
        plan.language,
        viewer_kind,
        for_request=request is not None,
        reference=plan.reference,
        url=access_log_link(plan),
    )
    for number in family_phones(plan):
        queue_message(
            to=number,
            body=body,
            sender="notices",
            purpose=OPENED,
            cit_request_id=request.id if request is not None else None,
        )


def person_consents(plan: CrisisPlan) -> bool:
    """The closing text needs the person's consent: they filed it (or a parent of a minor
    or a guardian did), or they confirmed the plan a family member filed."""
    return plan.filed_by in OWN_AUTHORITY or plan.person_confirmed_at is not None


def follow_up_offered() -> bool:
    query = select(Partner.id).where(Partner.role == "follow_up", Partner.active.is_(True))
    return db.session.scalar(query.limit(1)) is not None


def request_closed(request: CitRequest) -> None:
    """The request linked to a plan is closed."""
    plan = db.session.get(CrisisPlan, request.plan_id) if request.plan_id is not None else None
    if plan is None or not plan.notify_on_close or not person_consents(plan):
        return
    body = closed_text(
        plan.language,
        follow_up=plan.follow_up_consent and follow_up_offered(),
        reference=plan.reference,
    )
    for number in family_phones(plan):
        queue_message(to=number, body=body, sender="notices", purpose=CLOSED, cit_request_id=request.id)
