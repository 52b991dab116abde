"""A CIT request's codes as a dispatcher reads them: dispositions, what each text about
the request was for, and how far it got. Never a raw code on a page (`dispatch_alert`,
`accepted`); every word through gettext."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal import audit
from portal.messaging.outbox import OutboundMessage

# How a request ended, in the order a dispatcher most often chooses them.
DISPOSITIONS = {
    "cit_dispatched": _l("CIT officer dispatched"),
    "co_responder": _l("Co-responder team"),
    "behavioral_health_line": _l("Referred to the behavioral-health line"),
    "transported": _l("Transported for care"),
    "no_contact": _l("No contact made"),
    "other": _l("Other"),
}

# What a text sent about a request was for (OutboundMessage.purpose).
PURPOSES = {
    "dispatch_alert": _l("Alert to a dispatch phone"),
    "fallback_alert": _l("Alert to a fallback number (dispatch phones not reached)"),
    "dispatch_update": _l("Update to a dispatch phone"),
    "supervisor_alert": _l("Alert to a supervisor (not acknowledged in time)"),
    "texter_reply": _l("Text to the texter"),
    "officer_card": _l("Officer card to a responding officer"),
    "family_plan_opened": _l("Text to the family: their plan was opened"),
    "family_request_closed": _l("Text to the family: the request is closed"),
}

# How far a text got (Twilio's statuses, OutboundMessage.status).
DELIVERY = {
    "queued": _l("Waiting to be sent"),
    "accepted": _l("Handed to the phone network"),
    "sending": _l("Being sent"),
    "sent": _l("Sent, delivery not yet confirmed"),
    "delivered": _l("Delivered"),
    "undelivered": _l("Not delivered"),
    "failed": _l("Failed"),
}

# Twilio's errors a dispatcher can act on; any other keeps its number only.
ERRORS = {
    21610: _l("the number has opted out of texts (STOP)"),
    21211: _l("not a valid phone number"),
    21614: _l("not a mobile number"),
    30003: _l("the phone is switched off or out of reach"),
    30004: _l("the message was blocked"),
    30005: _l("unknown or inactive number"),
    30006: _l("a landline, or a carrier that cannot be reached"),
    30007: _l("filtered as spam by the carrier"),
    30008: _l("unknown error"),
}

STATUSES = {
    "open": _l("Not acknowledged"),
    "acknowledged": _l("Acknowledged"),
    "closed": _l("Closed"),
}


def disposition_words(key: str | None) -> str:
    return str(DISPOSITIONS[key]) if key in DISPOSITIONS else _("Other")


def purpose_words(purpose: str) -> str:
    return str(PURPOSES[purpose]) if purpose in PURPOSES else _("Other text")


def delivery_words(message: OutboundMessage) -> str:
    """A text's delivery in words: "Failed: the phone is switched off or out of reach
    (error 30003)"."""
    words = str(DELIVERY[message.status]) if message.status in DELIVERY else _("Status not known")
    if message.error_code:
        reason = ERRORS.get(message.error_code)
        if reason is not None:
            # Translators: a text's delivery, e.g. "Failed: unknown or inactive number (error 30005)".
            explained = _(
                "%(status)s: %(reason)s (error %(code)s)",
                status=words,
                reason=reason,
                code=message.error_code,
            )
            return str(explained)
        return str(_("%(status)s (error %(code)s)", status=words, code=message.error_code))
    return words


# Whose hand a request's steps were taken by, as the console names it: "Dispatcher
# dee@example.org" (ConsoleUser.display_name), "Partner cal@bhr.example.org (Behavioral
# Health Response (BHR))", "CIT text line"; and who read a plan through a machine or a
# link: "System County CAD", "Officer Unit 3142" (portal.audit.outside_reader_words).
ROLES = {
    "Dispatcher": _l("Dispatcher"),
    "Supervisor": _l("Supervisor"),
    "Admin": _l("Admin"),
    "Partner": _l("Partner"),
}


def who_words(actor_name: str | None) -> Markup:
    """Who did it, in the reader's language: the role translated, the account or system
    set apart (<bdi>), so an address or a partner's name in brackets stays whole and in
    order inside an Arabic sentence."""
    if not actor_name:
        return Markup("")
    if actor_name == "CIT text line":
        return Markup("{}").format(_("CIT text line"))
    role, _space, name = actor_name.partition(" ")
    if role in ROLES and name:
        return Markup("{} <bdi>{}</bdi>").format(ROLES[role], name)
    outside = audit.outside_reader_words(actor_name)
    return Markup("{}").format(outside) if outside else Markup("<bdi>{}</bdi>").format(actor_name)
