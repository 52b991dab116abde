"""POST /api/v1/lookup: a 911 center's CAD asks, as a call comes in, whether the caller's
number is on a crisis plan; and GET the additional-data blocks the answer links to.

The number travels in the body, never in a URL. An answer for a number with no plan is
as long as one with plans, and comes no sooner: someone who sees only the encrypted
traffic learns nothing from its size or its timing.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Response, abort, current_app, request

from portal.api import authenticate, bp, json_error, record, refuse
from portal.api.clients import ApiClient
from portal.dispatch import additional_data, plan_links
from portal.dispatch.plan_links import PlanLink
from portal.extensions import db
from portal.links import public_link
from portal.plans.models import CrisisPlan
from portal.plans.services import find_plans_by_phone
from portal.times import local_iso

# Every answer is this many bytes: room for MAX_PLANS plans with the longest names and
# summaries, written in any script.
ANSWER_BYTES = 12 * 1024
MAX_PLANS = 3  # a parent's phone may be on each child's plan
# No answer leaves sooner than this after the call came: far above the work itself, so
# that a plan found (links written, the plan decrypted) is not slower than none.
ANSWER_FLOOR_SECONDS = 0.25
DEFAULT_REASON = "Incoming 911 call"


def padded(body: dict[str, Any], started: float) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    size = len(data.encode())
    if size + len(',"padding":""') > ANSWER_BYTES:
        raise ValueError(f"answer of {size} bytes does not fit in {ANSWER_BYTES}")
    room = ANSWER_BYTES - size - len(',"padding":""')
    data = data[:-1] + ',"padding":"' + " " * room + '"}'
    time.sleep(max(0.0, started + ANSWER_FLOOR_SECONDS - time.monotonic()))
    response = current_app.response_class(data, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def plan_answer(plan: CrisisPlan, client: ApiClient) -> dict[str, Any]:
    """What a call-taker needs on the first screen, and the links to the rest."""
    link, token = plan_links.issue(
        plan, "call_taker", issued_to=client.name, issued_by=client.actor_name, api_client_id=client.id
    )
    db.session.flush()
    person = plan.details.get("person", {})
    brief_url = public_link("responders.brief", token=token)
    return {
        "reference": plan.reference,
        "cit_requested": plan.cit_requested,
        "confirmed_by_person": plan.person_confirmed_at is not None,
        "preferred_name": person.get("preferred_name") or person.get("name"),
        "spoken_language": person.get("spoken_language") or None,
        "spoken_language_tag": additional_data.language_tag(person.get("spoken_language")),
        "interpreter_needed": {"yes": True, "no": False}.get(str(person.get("interpreter"))),
        "plan_language": plan.language,
        "summary": additional_data.call_taker_summary(plan),
        "links_expire_at": local_iso(link.expires_at),
        "officer_brief_url": brief_url,
        "additional_data": [
            {
                "purpose": f"EmergencyCallData.{name}",
                "media_type": additional_data.media_type(name),
                "url": public_link("api.additional_data_block", token=token, block=name),
            }
            for name in additional_data.BLOCKS
        ],
    }


@bp.post("/lookup")
def lookup() -> Response:
    started = time.monotonic()
    client = authenticate("lookup", "api.lookup")
    body = request.get_json(silent=True)
    number = body.get("caller_number") if isinstance(body, dict) else None
    if not isinstance(number, str) or not number.strip():
        refuse(client, "api.lookup", "no number", 400, 'send JSON: {"caller_number": "+13145550100"}')
    reason = str(body.get("reason") or DEFAULT_REASON).strip()[:200]  # type: ignore[union-attr]
    call_id = str(body.get("call_id") or "").strip()[:60]  # type: ignore[union-attr]
    if call_id:
        reason = f"{reason} (call {call_id})"
    plans = list(reversed(find_plans_by_phone(number)))[:MAX_PLANS]  # newest first
    answers = []
    for plan in plans:
        answers.append(plan_answer(plan, client))
        record(client, "api.lookup", plan_reference=plan.reference, reason=reason)
    if not plans:
        record(client, "api.lookup", outcome="no plan", reason=reason)
    db.session.commit()
    return padded({"plan_on_file": bool(answers), "plans": answers}, started)


@bp.get("/additional-data/<token>/<block>")
def additional_data_block(token: str, block: str) -> Response:
    """One block, by reference (RFC 7852): only for the client the look-up answered."""
    client = authenticate("lookup", "api.additional_data")
    if block not in additional_data.BLOCKS:
        abort(json_error(404, "no such block"))
    opened = plan_links.open_link(token, ("call_taker",))
    link: PlanLink | None = opened.link
    if link is None or link.api_client_id != client.id:
        refuse(client, "api.additional_data", "unknown link", 404, "no such link")
    if opened.refusal is not None:
        reference = link.plan.reference
        refuse(
            client,
            "api.additional_data",
            opened.refusal,
            410,
            f"link {opened.refusal}",
            plan_reference=reference,
        )
    brief_url = public_link("responders.brief", token=token)
    document = additional_data.block(block, link.plan, link.id, brief_url)
    record(
        client,
        "api.additional_data",
        plan_reference=link.plan.reference,
        reason=f"Additional data ({block}) after a look-up at {local_iso(link.created_at)}",
    )
    db.session.commit()
    response = Response(document, mimetype=additional_data.media_type(block))
    response.headers["Cache-Control"] = "no-store"
    return response
