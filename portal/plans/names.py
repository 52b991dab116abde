"""Names as the console's look-up compares them: without case, accents, punctuation or extra
spaces, in any word order, and by the name the person likes to be called.

A name is never stored in clear for the look-up: each form below, with the date of birth,
is stored only as a keyed hash (a blind index, see portal.crypto) in plan_name_indexes.
Changing what these functions return changes every index: a migration must then write the
indexes again (see the migration that made plan_name_indexes, which has its own copy).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from anyascii import anyascii

# Dropped inside a word: O'Brien is OBrien, St. John is St John, J.R. is JR.
_JOINERS = re.compile(r"['`.]")
# Anything else that is not a letter or digit separates words: hyphens, commas, spaces.
_SEPARATORS = re.compile(r"[^a-z0-9]+")
# A generational suffix tells a son from his father, and so does the date of birth.
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def name_words(name: str) -> tuple[str, ...]:
    """The name's words in plain lowercase ASCII: "Nguyễn Văn-An." is nguyen, van, an.

    Transliteration (anyascii) turns Đ into D, ß into ss, ø into o, and other scripts into
    Latin letters (王 is wang), so a name matches itself whatever the script."""
    text = anyascii(unicodedata.normalize("NFKC", name)).lower()
    words = tuple(word for word in _SEPARATORS.split(_JOINERS.sub("", text)) if word)
    if len(words) > 2 and words[-1] in _SUFFIXES:
        words = words[:-1]
    return words


def spellings(name: str) -> set[tuple[str, ...]]:
    """The name's words, once, or twice when it has Đ: Bosnian, Croatian and Serbian
    names write it D or Dj without the accent (Đorđe: Dorde, Djordje)."""
    found = {name_words(name)}
    if "đ" in name.casefold():
        found.add(name_words(re.sub("[đĐ]", "dj", name)))
    return found - {()}


def forms(words: tuple[str, ...]) -> set[str]:
    """The words run together (spaces and hyphens do not matter) and in alphabetical
    order (word order does not matter). Only a one-word name has no space in both."""
    return {"".join(words), " ".join(sorted(words))}


def name_key(form: str, born: date) -> str:
    """The text behind one blind index: a form of the name and the date of birth."""
    return f"name:{form}|{born.isoformat()}"


def search_keys(name: str, born: date) -> set[str]:
    """What a typed name and date of birth are looked up by."""
    return {name_key(form, born) for words in spellings(name) for form in forms(words)}


def plan_keys(name: str, born: date, preferred_name: str = "") -> set[str]:
    """Every key a plan is found by: its full name, and the name the person likes to be
    called in place of the given names (Danny Okafor-Brandt for Daniel Okafor-Brandt) or,
    for a family name written first, after it (Nguyễn Andy for Nguyễn Văn An). The name
    they like to be called alone finds the plan only when it is a full name itself."""
    names = set(spellings(name))
    for full in spellings(name):
        for preferred in spellings(preferred_name):
            if len(preferred) > 1:
                names.add(preferred)
            for cut in range(1, len(full)):
                names.add(preferred + full[cut:])
                names.add(full[:cut] + preferred)
    return {name_key(form, born) for words in names for form in forms(words)}
