"""The crisis-plan registry: families file a plan; registrants keep it current."""

from flask import Blueprint, Response

bp = Blueprint("plans", __name__)

from portal.plans import consent, display, filing, registrant  # noqa: E402,F401  (routes register on bp)


@bp.after_request
def _not_stored(response: Response) -> Response:
    """Registry pages show a plan or a draft of one: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _plan_helpers() -> dict[str, object]:
    from portal.plans.forms import PHONE_OWNERS

    return {"plan_sections": display.plan_sections, "phone_owners": PHONE_OWNERS}
