"""Reading a texter's words: carrier keywords, CIT keywords, switch words, language.

Texts are read as people type them: any case, with or without accents, with
punctuation, symbols and emoji around words (¡Ayuda!), in any script's digits (١, ۱, １).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import stopwordsiso

# Carrier keywords are never CIT keywords (DESIGN.md, SMS texts).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
# HELP or INFO alone asks what the line is.
INFO = frozenset({"HELP", "INFO"})

# A text that is only one of these switches the conversation's language.
SWITCH_WORDS = {
    "EN": "en",
    "ENGLISH": "en",
    "ES": "es",
    "ESPANOL": "es",
    "BS": "bs",
    "BOSANSKI": "bs",
    "VI": "vi",
    "TIENG VIET": "vi",
    "ZH": "zh",
    "中文": "zh",
    "AR": "ar",
    "عربي": "ar",
    "العربيه": "ar",
}

# Words that ask for a CIT response, by language, found anywhere in a first text; case,
# accents and punctuation ignored. PIN and CIT are the campaign's own words: a text's
# language is that of its other words when it has any (portal.i18n names the word each
# language's readers are told to text; a test checks each is here).
CIT_KEYWORDS = {
    "en": ("PIN", "CIT", "CRISIS", "HELP"),
    "es": ("AYUDA", "AYUDENME", "SOCORRO", "AUXILIO", "EMERGENCIA", "URGENTE"),
    "bs": ("POMOC", "POMOZITE", "UPOMOC", "HITNO", "KRIZA"),
    "vi": ("GIUP", "CUU", "CAN GIUP", "TRO GIUP", "KHAN CAP", "HUY HIEU", "KHUNG HOANG"),
    "zh": ("救命", "求助", "求救", "紧急", "帮帮我", "帮忙", "帮助", "幫忙", "幫助", "危機", "徽章", "危机"),
    "ar": ("النجده", "نجده", "ساعدوني", "ساعدني", "الحقوني", "مساعده", "طوارئ", "الدبوس", "دبوس", "ازمه"),
}

# Arabic letters people type either way: hamza forms of alif, taa marbuta, alif maqsura.
_ARABIC_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": ""})


def ascii_digits(text: str) -> str:
    """Digits of every script as ASCII (١ ۱ １ -> 1), one character for one."""
    return "".join(str(unicodedata.digit(char)) if char.isdecimal() else char for char in text)


@lru_cache(maxsize=4096)  # every text folds each of its characters several times
def _fold_char(char: str) -> str:
    category = unicodedata.category(char)
    if category[0] in "PSZC":
        return " "  # punctuation, symbols (emoji), spaces: word breaks
    if char.isdecimal():
        return str(unicodedata.digit(char))
    decomposed = unicodedata.normalize("NFKD", char.upper()).replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_ARABIC_VARIANTS)


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the position it came from."""
    folded: list[str] = []
    positions: list[int] = []
    for position, char in enumerate(text):
        for piece in _fold_char(char):
            folded.append(piece)
            positions.append(position)
    return "".join(folded), positions


def fold(text: str) -> str:
    """Upper case, no accents or harakat, punctuation as spaces, single-spaced."""
    return " ".join(fold_with_positions(text)[0].split())


def _is_latin(word: str) -> bool:
    return all(char.isascii() for char in word)


@cache
def _pattern(word: str) -> re.Pattern[str]:
    """A keyword as a whole word; Chinese has no spaces and Arabic joins the word for
    "and" (و) to the next word, so theirs are found inside longer runs."""
    folded = re.escape(fold(word))
    if _is_latin(folded):
        return re.compile(rf"(?<![^\W_]){folded}(?![^\W_])")
    return re.compile(folded)


def find_keywords(text: str) -> list[tuple[str, int, int]]:
    """Each CIT keyword in the text: (language, start, end) in the text as typed."""
    folded, positions = fold_with_positions(text)
    found: list[tuple[str, int, int]] = []
    taken: set[int] = set()
    for language, words in CIT_KEYWORDS.items():
        for word in sorted(words, key=len, reverse=True):  # "CAN GIUP" before "GIUP"
            for match in _pattern(word).finditer(folded):
                span = set(range(match.start(), match.end()))
                if span & taken:
                    continue
                taken |= span
                found.append((language, positions[match.start()], positions[match.end() - 1] + 1))
    return sorted(found, key=lambda item: item[1])


def keyword_language(text: str) -> str | None:
    """The language of the text's CIT keywords: another language's before English."""
    languages = [language for language, _start, _end in find_keywords(text)]
    for language in languages:
        if language != "en":
            return language
    return "en" if languages else None


def switch_word(text: str) -> str | None:
    """The language a text switches to when it is only a switch word ("Español")."""
    return SWITCH_WORDS.get(fold(text))


def carrier_word(text: str) -> str | None:
    """STOP, START, HELP... when the text is only that word (punctuation ignored)."""
    folded = fold(text)
    return folded if folded in OPT_OUT | OPT_IN | INFO else None


@lru_cache(maxsize=1)
def filler_words() -> frozenset[str]:
    """Words that carry no place and no news in our languages ("me", "please", "por")."""
    words: set[str] = {"PLEASE", "PLS", "PLZ", "NOW", "ASAP", "OK", "HI", "HELLO", "HOLA", "ZDRAVO", "CHAO"}
    for language in ("en", "es", "hr", "vi", "zh", "ar"):
        words |= {fold(word) for word in stopwordsiso.stopwords(language)}
    return frozenset(words)


# Thanks, as texters send it after help came: a courtesy, not a new request.
THANKS = frozenset({"THANK", "THANKS", "THX", "TY", "GRACIAS", "HVALA", "CAM", "ON", "谢谢", "شكرا", "شكرًا"})


def is_courtesy(text: str) -> bool:
    """ "thank you", "ok gracias", "cảm ơn", "شكرا": thanks and no more ("he is back" is
    no courtesy, however common its words)."""
    words = fold(text).split()
    if find_keywords(text) or len(words) > 4 or not (set(words) & THANKS or words in (["OK"], ["OKAY"])):
        return False
    return all(word in THANKS or word in filler_words() for word in words)


def is_only_a_call_for_help(text: str) -> bool:
    """True when the text holds nothing but CIT keywords, switch words and filler
    ("help!!", "¡Ayuda por favor!", "PIN"): nothing dispatch would need to read."""
    rest = text
    for _language, start, end in reversed(find_keywords(text)):
        rest = rest[:start] + " " + rest[end:]
    words = fold(rest).split()
    # Two filler words at most: "help me please" says nothing more, "he is back" does.
    return len(words) <= 2 and all(
        word in filler_words() or word in SWITCH_WORDS or word in INFO for word in words
    )
