"""The crisis-plan registry: families file a plan; registrants keep it current."""

from flask import Blueprint

bp = Blueprint("plans", __name__)

from portal.plans import display, filing, registrant  # noqa: E402,F401  (routes register on bp)


@bp.app_context_processor
def _plan_helpers() -> dict[str, object]:
    return {"plan_sections": display.plan_sections}
