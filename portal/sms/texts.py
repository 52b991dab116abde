"""Every text the CIT line sends a texter, in the texter's language.

Each must fit 3 SMS segments in every language (tests/test_sms_texts.py renders them
all), so they stay short; every first reply names 911 and 988.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.i18n import BY_CODE

# Translators: the longest a request reference can be, used to check lengths.
LONGEST_REFERENCE = "R-WWWWWW"


def _in(language: str, render) -> str:  # type: ignore[no-untyped-def]
    with force_locale(BY_CODE[language].catalogue):
        return str(render())


def ask_location(language: str, *, plan_offered: bool) -> str:
    if plan_offered:
        # Translators: an SMS. "1" is what the texter replies. Keep it short: at most 3 SMS.
        return _in(
            language,
            lambda: _(
                "CIT text line. In danger now? Call 911. To talk, call or text 988. Reply 1 for help at the home address on your crisis plan, or send the address."
            ),
        )
    # Translators: an SMS. Keep it short: at most 3 SMS.
    return _in(
        language,
        lambda: _(
            "CIT text line. In danger now? Call 911. To talk, call or text 988. Where is help needed? Send the address or the nearest cross streets."
        ),
    )


def request_sent(language: str, reference: str, *, first: bool) -> str:
    if first:
        # Translators: an SMS, the first reply to a texter. Keep it short: at most 3 SMS.
        return _in(
            language,
            lambda: _(
                "Request %(reference)s sent to 911 dispatch. They may call you back. In danger now? Call 911. To talk, call or text 988.",
                reference=reference,
            ),
        )
    # Translators: an SMS. Keep it short: at most 3 SMS.
    return _in(
        language,
        lambda: _(
            "Request %(reference)s sent to 911 dispatch. They may call you back. In danger now? Call 911.",
            reference=reference,
        ),
    )


def sent_without_location(language: str, reference: str) -> str:
    # Translators: an SMS, sent when the texter gave no location within 2 minutes.
    return _in(
        language,
        lambda: _(
            "Request %(reference)s sent to 911 dispatch without a location. Send the address if you can. In danger now? Call 911.",
            reference=reference,
        ),
    )


def update_forwarded(language: str, reference: str) -> str:
    # Translators: an SMS, after the texter sent more details. Keep it short.
    return _in(
        language,
        lambda: _(
            "Added to request %(reference)s for dispatch. In danger now? Call 911.", reference=reference
        ),
    )


def bounce_back(language: str) -> str:
    # Translators: an SMS, when dispatch could not be reached. Keep it short and direct.
    return _in(language, lambda: _("We could not reach dispatch. Call 911 now."))


# Short texts a dispatcher can send a texter from the console, by key.
DISPATCHER_REPLIES = ("on_the_way", "calling_back", "call_911", "working_on_it")


def dispatcher_reply(language: str, key: str) -> str:
    # Translators: SMS texts a dispatcher sends a texter. Keep each short.
    choices = {
        "on_the_way": lambda: _("911 dispatch: a CIT officer is on the way."),
        "calling_back": lambda: _("911 dispatch: we will call you back shortly at this number."),
        "call_911": lambda: _("911 dispatch: please call 911 now."),
        "working_on_it": lambda: _("911 dispatch: we have your request and are working on it."),
    }
    return _in(language, choices[key])


def request_closed(language: str, reference: str) -> str:
    # Translators: an SMS when dispatch closes a request. Keep it short.
    return _in(
        language,
        lambda: _(
            "Request %(reference)s is closed. If you need help again, text this number or call 911. To talk, call or text 988.",
            reference=reference,
        ),
    )


def all_replies(language: str) -> list[str]:
    """Every reply, rendered with the longest values, for the length test."""
    return [
        ask_location(language, plan_offered=True),
        ask_location(language, plan_offered=False),
        request_sent(language, LONGEST_REFERENCE, first=True),
        request_sent(language, LONGEST_REFERENCE, first=False),
        sent_without_location(language, LONGEST_REFERENCE),
        update_forwarded(language, LONGEST_REFERENCE),
        bounce_back(language),
        request_closed(language, LONGEST_REFERENCE),
        *(dispatcher_reply(language, key) for key in DISPATCHER_REPLIES),
    ]
