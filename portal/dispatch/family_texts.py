"""Texts to the family who filed a plan, when they chose them (CrisisPlan.notify_on_open,
notify_on_close): the plan was opened for a request, naming the kind of viewer and the
reason's category, never the plan's content; and, with the person's consent, the
request was closed, saying help was sent and who will follow up. In the plan's language,
from the notices number, through the outbox.

Both are called in the caller's transaction and queue at most what the rules allow.
"""

from __future__ import annotations

from portal.dispatch.models import CitRequest
from portal.plans.models import CrisisPlan

# Who opened the plan, as the text names them.
VIEWER_KINDS = ("dispatcher", "partner", "officer")


def plan_opened(plan: CrisisPlan, *, viewer_kind: str, request: CitRequest | None) -> None:
    """The plan was opened (by a dispatcher, a partner, an officer's card) for `request`."""


def request_closed(request: CitRequest) -> None:
    """The request linked to a plan is closed."""
