"""GET /api/v1/requests/<reference>/eido: a CIT request as an EIDO document, for
clients with the export scope (a CAD, a behavioral-health partner)."""

from __future__ import annotations

from flask import Response, jsonify

from portal.api import authenticate, bp, record, refuse
from portal.dispatch import eido, requests
from portal.extensions import db


@bp.get("/requests/<reference>/eido")
def request_eido(reference: str) -> Response:
    client = authenticate("export", "request.eido")
    found = requests.find(reference)
    if found is None:
        refuse(client, "request.eido", "unknown request", 404, "no such request")
    document = eido.document(found)
    # With a plan, the export carries the person's name and language: a read of the plan.
    record(client, "request.eido", request_reference=found.reference, plan_reference=found.plan_reference)
    db.session.commit()
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response
