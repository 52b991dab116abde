"""Which language a text the line sent is in, read from the translators' catalogues.

A reply is matched against every msgstr (and for English every msgid) of the .po files,
placeholders standing for any text: a Bosnian texter answered in Spanish is caught even
when both replies hold "911".
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import polib

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
# Our language codes and their catalogue folders, as the translators keep them.
CATALOGUES = {"es": "es", "bs": "bs", "vi": "vi", "zh": "zh_Hans", "ar": "ar"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
# Codes and reminders come from the notices number, signed with the campaign's English
# name in front of the translated text.
SIGNATURE = "Call for the Pin: "


def _pattern(text: str) -> re.Pattern[str]:
    pieces = PLACEHOLDER.split(text)
    return re.compile(".+?".join(re.escape(piece) for piece in pieces), re.S)


def _telling(text: str) -> bool:
    """Enough words of its own to tell a language: "%(total)s: %(waiting)s" fits any text."""
    return len(re.sub(r"\W", "", PLACEHOLDER.sub("", text))) >= 8


@lru_cache(maxsize=1)
def _known() -> list[tuple[str, str, re.Pattern[str]]]:
    """(language, English source, pattern) for every entry of every catalogue."""
    known = []
    for language, folder in CATALOGUES.items():
        for entry in polib.pofile(str(TRANSLATIONS / folder / "LC_MESSAGES" / "messages.po")):
            sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
            translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
            for translation in translations:
                if _telling(translation):
                    known.append((language, entry.msgid, _pattern(translation)))
            if language == "es":  # English, once
                known += [("en", entry.msgid, _pattern(source)) for source in sources if _telling(source)]
    return known


def read_reply(reply: str) -> list[tuple[str, str]]:
    """Every (language, English source) whose text the reply is."""
    text = html.unescape(reply).strip().removeprefix(SIGNATURE)
    return [(language, source) for language, source, pattern in _known() if pattern.fullmatch(text)]


def language_of(reply: str) -> set[str]:
    return {language for language, _source in read_reply(reply)}


def sources_of(reply: str) -> set[str]:
    return {source for _language, source in read_reply(reply)}
