"""One text read once, before any database work: what it asks, its language, its place.

Reading runs outside the webhook's write transaction and in time linear in the text,
so no text, however long or strange, holds a database lock while it is read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from portal.sms import keywords
from portal.sms.places import find_place
from portal.text_language import language_of_script, language_of_sentence

# Twilio joins a long text into one Body of at most 1,600 characters; anything longer
# is no text from a phone, and is read no further (it is still kept whole).
READ_AT_MOST = 1600
PLAN_HOME = "1"  # the answer to "Reply 1 for the home address on your crisis plan"


@dataclass(frozen=True)
class Reading:
    text: str  # as sent, without surrounding spaces
    carrier_word: str | None  # STOP, START, HELP... alone
    switch: str | None  # the language a switch word asks for
    keyword_language: str | None  # the language of its CIT keywords
    script_language: str | None  # Arabic or Chinese script
    sentence_language: str | None  # a long enough Latin-script sentence's language
    place: str | None  # the place, in the texter's words
    plan_home: bool  # "1" in any script
    only_a_call_for_help: bool  # "help!!", "PIN": nothing more to read
    courtesy: bool  # "thank you"


def read_text(body: str, streets: Collection[str]) -> Reading:
    text = body.strip()
    read = text[:READ_AT_MOST]
    place = find_place(read, streets)
    return Reading(
        text=text,
        carrier_word=keywords.carrier_word(read),
        switch=keywords.switch_word(read),
        keyword_language=keywords.keyword_language(read),
        script_language=language_of_script(read),
        sentence_language=language_of_sentence(read.replace(place, " ") if place else read),
        place=place,
        plan_home=keywords.fold(read) == PLAN_HOME,
        only_a_call_for_help=keywords.is_only_a_call_for_help(read),
        courtesy=keywords.is_courtesy(read),
    )
