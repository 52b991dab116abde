"""The conversation's replies to a texter, in the texter's language (dispatch's own
texts to a texter are in portal.dispatch.texts).

Each must fit 3 SMS segments in every language (tests/test_sms_texts.py renders them
all), so they stay short; every first reply names 911 and 988.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.dispatch import texts as dispatch_texts
from portal.i18n import in_language as _in

# The longest a request reference can be, used to check lengths.
LONGEST_REFERENCE = "R-WWWWWW"


def ask_location(language: str, *, plan_offered: bool) -> str:
    if plan_offered:
        return _in(
            language,
            # Translators: an SMS. "1" is what the texter replies. Keep it short: at most 3 SMS.
            lambda: _(
                "CIT text line. In danger now? Call 911. To talk, call or text 988. Reply 1 for help at the home address on your crisis plan, or send the address."
            ),
        )
    return _in(
        language,
        # Translators: an SMS. Keep it short: at most 3 SMS.
        lambda: _(
            "CIT text line. In danger now? Call 911. To talk, call or text 988. Where is help needed? Send the address or the nearest cross streets."
        ),
    )


def line_info(language: str) -> str:
    return _in(
        language,
        # Translators: an SMS, the answer to HELP or INFO: what this line is. Keep it short: at most 3 SMS.
        lambda: _(
            "This line sends your texts to 911 police dispatch for a CIT officer. In danger now? Call 911. To talk: 988. Text STOP to stop. Where is help needed?"
        ),
    )


def need_place(language: str) -> str:
    return _in(
        language,
        # Translators: an SMS, when the texter's answer was not a place. Plain words. At most 3 SMS.
        lambda: _(
            "To send help we need a place: the street address, or the nearest corner. In danger now? Call 911."
        ),
    )


def still_need_place(language: str) -> str:
    return _in(
        language,
        # Translators: an SMS, to a texter who wrote again without a place. At most 3 SMS.
        lambda: _(
            "Got it, dispatch will see your texts. Send the street address or nearest corner when you can. In danger now? Call 911."
        ),
    )


def request_sent(language: str, reference: str, *, first: bool) -> str:
    if first:
        return _in(
            language,
            # Translators: an SMS, the first reply to a texter. Keep it short: at most 3 SMS.
            lambda: _(
                "Request %(reference)s sent to 911 dispatch. They may call you back. In danger now? Call 911. To talk, call or text 988.",
                reference=reference,
            ),
        )
    return _in(
        language,
        # Translators: an SMS. Keep it short: at most 3 SMS.
        lambda: _(
            "Request %(reference)s sent to 911 dispatch. They may call you back. In danger now? Call 911.",
            reference=reference,
        ),
    )


def sent_without_location(language: str, reference: str) -> str:
    return _in(
        language,
        # Translators: an SMS, sent when the texter gave no location within 2 minutes.
        lambda: _(
            "Request %(reference)s sent to 911 dispatch without a location. Send the address if you can. In danger now? Call 911.",
            reference=reference,
        ),
    )


def update_forwarded(language: str, reference: str, *, acknowledged: bool = False) -> str:
    if acknowledged:
        return _in(
            language,
            # Translators: an SMS, after the texter sent more details and a dispatcher has the request.
            lambda: _(
                "Added to request %(reference)s. A 911 dispatcher has it. In danger now? Call 911.",
                reference=reference,
            ),
        )
    return _in(
        language,
        # Translators: an SMS, after the texter sent more details. Keep it short.
        lambda: _(
            "Added to request %(reference)s for dispatch. In danger now? Call 911.", reference=reference
        ),
    )


def updates_combined(language: str, reference: str, count: int) -> str:
    # Translators: an SMS, one answer for several texts a texter sent quickly. At most 3 SMS.
    return _in(
        language,
        lambda: ngettext(
            "We passed on your last message for request %(reference)s to dispatch. In danger now? Call 911.",
            "We passed on your last %(num)d messages for request %(reference)s to dispatch. In danger now? Call 911.",
            count,
            reference=reference,
        ),
    )


def thread_closed(language: str) -> str:
    return _in(
        language,
        # Translators: an SMS, to a texter who thanked dispatch after their request was closed.
        lambda: _("This text thread is closed. Need help again? Send the address, or call 911."),
    )


def location_changed(language: str, reference: str) -> str:
    return _in(
        language,
        # Translators: an SMS, after the texter sent a new place for their request. At most 3 SMS.
        lambda: _(
            "New place sent to 911 dispatch for request %(reference)s. In danger now? Call 911.",
            reference=reference,
        ),
    )


def all_replies(language: str) -> list[str]:
    """Every reply, rendered with the longest values, for the length test."""
    return [
        ask_location(language, plan_offered=True),
        ask_location(language, plan_offered=False),
        line_info(language),
        need_place(language),
        still_need_place(language),
        request_sent(language, LONGEST_REFERENCE, first=True),
        request_sent(language, LONGEST_REFERENCE, first=False),
        sent_without_location(language, LONGEST_REFERENCE),
        update_forwarded(language, LONGEST_REFERENCE),
        update_forwarded(language, LONGEST_REFERENCE, acknowledged=True),
        *(updates_combined(language, LONGEST_REFERENCE, count) for count in (1, 2, 3, 11, 99, 100)),
        location_changed(language, LONGEST_REFERENCE),
        thread_closed(language),
        *dispatch_texts.all_texts(language, LONGEST_REFERENCE),
    ]
