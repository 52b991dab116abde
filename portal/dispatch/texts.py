"""The texts dispatch sends a texter about their CIT request, in the texter's language.

Each must fit 3 SMS segments in every language (tests/test_sms_texts.py renders them
all with the longest reference).
"""

from __future__ import annotations

from flask_babel import gettext as _

from portal.i18n import in_language


def bounce_back(language: str) -> str:
    # Translators: an SMS, when the request could not be passed to 911 dispatch. Say that
    # the text did not get through, never that 911 cannot be reached. Short and direct.
    return in_language(language, lambda: _("Your text did not reach 911 dispatch. Call 911 now."))


def request_acknowledged(language: str, reference: str) -> str:
    return in_language(
        language,
        # Translators: an SMS, sent once when a 911 dispatcher has read the request. Keep it short.
        lambda: _(
            "A 911 dispatcher has your request %(reference)s. Stay on this thread. In danger now? Call 911.",
            reference=reference,
        ),
    )


def request_closed(language: str, reference: str) -> str:
    return in_language(
        language,
        # Translators: an SMS when dispatch closes a request. It must not read as "nobody is
        # coming": help already sent is still on its way. Keep it short: at most 3 SMS.
        lambda: _(
            "911 dispatch closed this text thread for %(reference)s. If help was sent, it is still on its way. Need help again? Text us or call 911. To talk: 988.",
            reference=reference,
        ),
    )


# Short texts a dispatcher can send a texter from the console, by key.
DISPATCHER_REPLIES = ("on_the_way", "calling_back", "call_911", "working_on_it")


def dispatcher_reply(language: str, key: str) -> str:
    choices = {
        # Translators: SMS texts a dispatcher sends a texter. Keep each short.
        "on_the_way": lambda: _("911 dispatch: a CIT officer is on the way."),
        "calling_back": lambda: _("911 dispatch: we will call you back shortly at this number."),
        "call_911": lambda: _("911 dispatch: please call 911 now."),
        "working_on_it": lambda: _("911 dispatch: we have your request and are working on it."),
    }
    return in_language(language, choices[key])


def all_texts(language: str, reference: str) -> list[str]:
    """Every text of this module, for the length test."""
    return [
        bounce_back(language),
        request_acknowledged(language, reference),
        request_closed(language, reference),
        *(dispatcher_reply(language, key) for key in DISPATCHER_REPLIES),
    ]
