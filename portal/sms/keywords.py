"""Reading a texter's words: carrier keywords, CIT keywords, language, location."""

from __future__ import annotations

import re
import unicodedata

# Carrier keywords are never CIT keywords (DESIGN.md, SMS texts).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
# HELP and INFO still reach the webhook: they start a conversation like any first text.

# Texting one of these switches the conversation's language.
SWITCH_WORDS = {"EN": "en", "ES": "es", "BS": "bs", "VI": "vi", "ZH": "zh", "AR": "ar"}

# Words that ask for a CIT response, by language. Matched on the first word(s), case and
# accents ignored. English words come first: PIN and CIT are the campaign's own words.
CIT_KEYWORDS = {
    "en": ("PIN", "CIT", "CRISIS"),
    "es": ("AYUDA", "SOCORRO", "AUXILIO", "EMERGENCIA"),
    "bs": ("POMOC", "UPOMOC", "HITNO", "KRIZA"),
    "vi": ("GIUP", "CUU", "CAN GIUP", "KHAN CAP", "HUY HIEU", "KHUNG HOANG"),
    "zh": ("救命", "求助", "帮忙", "帮助", "徽章", "危机"),
    "ar": ("النجده", "ساعدوني", "مساعده", "الدبوس", "دبوس", "ازمه"),
}


def fold(text: str) -> str:
    """Upper case without accents, for matching keywords however they are typed."""
    decomposed = unicodedata.normalize("NFKD", text.strip().upper())
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    # Arabic: hamza forms of alif, and taa marbuta, as people type them either way.
    for variant, plain in (("Đ", "D"), ("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ة", "ه")):
        without_marks = without_marks.replace(variant, plain)
    return without_marks


def first_word(text: str) -> str:
    words = fold(text).split()
    return words[0] if words else ""


def match_keyword(text: str) -> tuple[str, str] | None:
    """(language, rest of the text) when the text starts with a CIT keyword."""
    folded = fold(text)
    for language, words in CIT_KEYWORDS.items():
        for word in sorted(words, key=len, reverse=True):
            folded_word = fold(word)
            if (
                folded == folded_word
                or folded.startswith(folded_word + " ")
                or (not folded_word.isascii() and folded.startswith(folded_word))
            ):
                return language, text.strip()[len(word) :].strip(" ,.:;-")
    return None


def language_of_words(text: str) -> str | None:
    """The language of a CIT keyword anywhere in the text ("necesito ayuda" is Spanish)."""
    folded = f" {fold(text)} "
    for language, words in CIT_KEYWORDS.items():
        if language == "en":
            continue  # PIN and CIT are the campaign's words in every language
        for word in words:
            folded_word = fold(word)
            if (f" {folded_word} " in folded) or (not folded_word.isascii() and folded_word in folded):
                return language
    return None


def language_of_script(text: str) -> str | None:
    """Arabic and Chinese are told apart by their script; Latin scripts are not guessed."""
    for char in text:
        if "\u0600" <= char <= "\u06ff":
            return "ar"
        if "\u4e00" <= char <= "\u9fff":
            return "zh"
    return None


# A house number then a street ("4500 Main St", "12b Oak"), or two streets joined by
# "and", "&", "/", "at" or the words for "and" in our languages ("Grand & Olive").
_ADDRESS = re.compile(r"\b\d{1,6}[A-Za-z]?\s+\w{2,}", re.UNICODE)
_INTERSECTION = re.compile(
    r"\w{2,}.*\s(?:&|and|at|/|y|i|và|и)\s+\w{2,}|\w+\s*[&/]\s*\w+|\w+\s*(?:和|与)\s*\w+|\w+\s+و\s*\w+",
    re.UNICODE | re.IGNORECASE,
)


def looks_like_location(text: str) -> bool:
    return bool(_ADDRESS.search(text) or _INTERSECTION.search(text))
