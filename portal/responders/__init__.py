"""The officer card: the brief a responding officer (or a 911 call-taker, from the API
look-up) opens from a short-lived link, on a phone, without an account.

The link is the only key (portal.dispatch.plan_links), so the page is never cached,
never indexed, never sends the link on as a referrer, and is claimed by the first
browser that opens it. Every opening, and every refusal, is in the audit trail and the
family's access log.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request

from portal import audit
from portal.database import utcnow
from portal.dispatch import family_texts, handoffs, plan_links
from portal.dispatch.plan_links import PlanLink
from portal.extensions import db
from portal.plans.brief import brief as plan_brief

bp = Blueprint("responders", __name__)
CLAIM_COOKIE = "officer_card"
OPEN_ACTION = "plan_link.open"


def opener_name(link: PlanLink) -> str:
    """The audit trail's name for whoever opens the link; its first word tells the
    family's access log what kind of reader it was."""
    if link.purpose == "call_taker":
        return f"Call-taker {link.issued_to}"
    return f"Officer {link.issued_to}"


def opening_reason(link: PlanLink) -> str:
    if link.cit_request is not None:
        return f"Officer card for CIT request {link.cit_request.reference}"
    if link.purpose == "call_taker":
        return "Brief from a 911 look-up"
    return "Officer card"


def audit_opening(link: PlanLink, outcome: str) -> None:
    audit.record(
        OPEN_ACTION,
        actor_id=None,
        actor_name=opener_name(link),
        outcome=outcome,
        plan_reference=link.plan.reference,
        request_reference=link.cit_request.reference if link.cit_request else None,
        reason=opening_reason(link),
    )
    db.session.commit()


def private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key
    return response


@bp.get("/officer/<token>")
def brief(token: str) -> Response:
    opened = plan_links.open_link(token, tuple(plan_links.LIFETIMES))
    link, refusal = opened.link, opened.refusal
    new_key = None
    if link is not None and refusal is None:
        allowed, new_key = plan_links.claim(link, request.cookies.get(f"{CLAIM_COOKIE}{link.id}"))
        refusal = None if allowed else "claimed"
    if link is None:
        return private(make_response(render_template("responders/refused.html", refusal="unknown"), 404))
    if refusal is not None:
        audit_opening(link, refusal)
        return private(make_response(render_template("responders/refused.html", refusal=refusal), 410))
    if link.purpose == "officer_card":  # in the opening's transaction
        family_texts.plan_opened(link.plan, viewer_kind="officer", request=link.cit_request)
    audit_opening(link, "ok")
    page = render_template(
        "responders/card.html",
        link=link,
        referrals=handoffs.past_referrals(link.plan.id),
        **plan_brief(link.plan, utcnow()),
    )
    response = private(make_response(page))
    if new_key is not None:
        seconds = max(1, int((link.expires_at - utcnow()).total_seconds()))
        response.set_cookie(
            f"{CLAIM_COOKIE}{link.id}",
            new_key,
            max_age=seconds,
            path=request.path,
            secure=current_app.config["PORTAL_SETTINGS"].production,
            httponly=True,
            samesite="Lax",  # sent when the link is opened again from the texting app
        )
    return response
