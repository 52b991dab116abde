"""Finding the place in a texter's words: a street address, an intersection of two
streets, or a landmark with a street, in any of the six languages.

A question or a description of the crisis is not a place, however many numbers or
"and"s it holds ("he took 30 pills", "my son is hearing voices and wont stop"). The
place is returned as the texter wrote it, from where it starts to the end of the text,
so that "2nd floor, back door" after an address reaches dispatch too.

Street addresses are read by usaddress (a maintained US-address parser); intersections
and landmarks by the rules below, helped by the agency's list of its region's streets.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

import usaddress

from portal.sms.keywords import CIT_KEYWORDS, ascii_digits, filler_words, fold

# Street types in our languages (folded), after the name ("Olive St") or before it
# ("calle Cherokee", "ulica", "đường", "شارع"); Chinese ends a name with one ("路").
POSTFIX_TYPES = frozenset(
    {
        "ST", "STR", "STREET", "AVE", "AV", "AVENUE", "BLVD", "BOULEVARD", "RD", "ROAD", "DR", "DRIVE",
        "LN", "LANE", "CT", "COURT", "PL", "PLACE", "PKWY", "PARKWAY", "HWY", "HIGHWAY", "WAY", "TER",
        "TERRACE", "CIR", "CIRCLE", "SQ", "PLZ", "PLAZA", "TRL", "ALY", "EXPY", "FWY",
    }
)  # fmt: skip
PREFIX_TYPES = frozenset({"CALLE", "AVENIDA", "ULICA", "ULICI", "ULICE", "DUONG", "PHO", "شارع", "طريق"})
CHINESE_TYPES = ("街", "路", "大道")
DIRECTIONS = frozenset({"N", "S", "E", "W", "NE", "NW", "SE", "SW", "NORTH", "SOUTH", "EAST", "WEST"})
# "and" between two streets: "Grand & Olive", "Cherokee y Jefferson", "Gravois i Bates",
# "Grand và Olive", "غراند و أوليف", "Grand和Olive".
CONNECTORS = frozenset({"AND", "&", "/", "Y", "E", "I", "VA", "و", "和", "与", "跟"})
# Words that put a place after them: "at", "en", "kod", "ở", "عند", "在".
LEAD_INS = frozenset(
    {"AT", "NEAR", "CORNER", "EN", "ESQUINA", "KOD", "UGAO", "UGLU", "O", "TAI", "GAN", "GOC"}
)
LEAD_INS_NON_LATIN = frozenset({"عند", "قرب", "تقاطع", "زاويه", "في", "在", "靠近"})
# "the Walgreens on Grand": a landmark, one of these, a street.
LANDMARK_LINKS = frozenset({"ON", "AT", "BY", "NEAR", "OFF", "EN", "NA", "KOD", "U", "O", "TREN", "TAI"})
# What follows a number in a description rather than in an address ("30 pills", "3 days").
QUANTITIES = frozenset(
    {
        "YEAR", "YEARS", "YR", "YRS", "YO", "DAY", "DAYS", "HOUR", "HOURS", "HR", "HRS", "MINUTE", "MINUTES",
        "MIN", "MINS", "WEEK", "WEEKS", "MONTH", "MONTHS", "PILL", "PILLS", "TABLET", "TABLETS", "TIMES",
        "MG", "LB", "LBS", "POUNDS", "DOLLARS", "PEOPLE", "KIDS", "CHILDREN", "GUNS", "KNIVES", "AM", "PM",
        "ANOS", "DIAS", "HORAS", "MINUTOS", "SEMANAS", "MESES", "PASTILLAS", "VECES", "PERSONAS", "NINOS",
        "GODINA", "GODINE", "DANA", "SATI", "SATA", "MINUTA", "TABLETA", "PUTA", "TUOI", "NGAY", "GIO",
        "PHUT", "VIEN", "LAN", "سنه", "سنوات", "يوم", "ايام", "ساعه", "ساعات", "دقيقه", "دقائق", "حبه",
        "حبوب", "مره", "岁", "天", "小时", "分钟", "片", "次",
    }
)  # fmt: skip

# People, who are never streets: "mom and dad", "mi hijo y mi hija".
PEOPLE = frozenset(
    {
        "MOM", "MOTHER", "DAD", "FATHER", "SON", "DAUGHTER", "BROTHER", "SISTER", "WIFE", "HUSBAND", "KIDS",
        "BABY", "FRIEND", "GRANDMA", "GRANDPA", "UNCLE", "AUNT", "COUSIN", "NEIGHBOR", "POLICE", "COPS",
        "MAMA", "MAMÁ", "PAPA", "HIJO", "HIJA", "HERMANO", "HERMANA", "ESPOSO", "ESPOSA", "MAJKA", "OTAC",
        "SIN", "KCERKA", "BRAT", "SESTRA", "MUZ", "ZENA", "ME", "CON", "EM", "ANH", "CHI", "BO", "VO",
        "CHONG", "اخي", "اختي", "امي", "ابي", "ابني", "ابنتي", "زوجي", "زوجتي",
    }
)  # fmt: skip

ADDRESS_WORDS = 12  # how far past a house number the address parser reads

_TOKEN = re.compile(r"[&/]|[\u4e00-\u9fff]|[^\W_\u4e00-\u9fff]+(?:['’][^\W_\u4e00-\u9fff]+)*")
_HOUSE_NUMBER = re.compile(r"\d{1,6}[A-Z]?")
# Characters of Chinese sentences (I, you, he, she, of, is, not, very, want...), never of
# a street's name.
_CHINESE_SENTENCE = frozenset("我你他她它们的了是不很要有吗呢吧")
_KEYWORDS = frozenset(fold(word) for words in CIT_KEYWORDS.values() for word in words)


@dataclass(frozen=True)
class _Token:
    text: str  # as typed, digits made ASCII
    key: str  # folded: upper case, no accents
    start: int
    end: int

    @property
    def latin(self) -> bool:
        return self.key.isascii()


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        piece = match.group()
        key = fold(piece) or piece
        # Arabic writes "and" (و) joined to the next word: "غراند وأوليف".
        if key.startswith("و") and len(key) > 3 and key not in filler_words():
            tokens.append(_Token("و", "و", match.start(), match.start() + 1))
            tokens.append(_Token(piece[1:], key[1:], match.start() + 1, match.end()))
            continue
        tokens.append(_Token(piece, key, match.start(), match.end()))
    # Chinese is written without spaces: each character is a token, joined back into
    # names between connectors below.
    return _join_chinese(tokens)


def _join_chinese(tokens: list[_Token]) -> list[_Token]:
    joined: list[_Token] = []
    for token in tokens:
        chinese = "\u4e00" <= token.text[0] <= "\u9fff"
        previous = joined[-1] if joined else None
        if (
            chinese
            and previous is not None
            and "\u4e00" <= previous.text[0] <= "\u9fff"
            and not {previous.key, token.key} & (CONNECTORS | LEAD_INS_NON_LATIN)
            and previous.end == token.start
        ):
            joined[-1] = _Token(
                previous.text + token.text, previous.key + token.key, previous.start, token.end
            )
        else:
            joined.append(token)
    return joined


@lru_cache(maxsize=8)
def _streets_key(streets: tuple[str, ...]) -> frozenset[str]:
    # Once per list of streets, not once per text: folding the region's streets was a
    # third of the webhook's processor time per text (make bench, issue 13).
    return frozenset(fold(street) for street in streets)


def _is_street_type(token: _Token) -> bool:
    return token.key in POSTFIX_TYPES | PREFIX_TYPES or token.key.endswith(CHINESE_TYPES)


def _known_street_at(tokens: list[_Token], index: int, streets: frozenset[str]) -> bool:
    """A known street starts at tokens[index] ("Natural Bridge", "Grand")."""
    for length in (3, 2, 1):
        words = tokens[index : index + length]
        if len(words) == length and " ".join(token.key for token in words) in streets:
            return True
    return False


def _name_like(token: _Token, streets: frozenset[str]) -> bool:
    """Could be part of a street's or a landmark's name."""
    if token.key in streets or _is_street_type(token) or token.key in DIRECTIONS:
        return True
    if token.key in CONNECTORS or token.key in _KEYWORDS or token.key in filler_words():
        return False
    if token.key in QUANTITIES or token.key in PEOPLE or token.key in LEAD_INS | LEAD_INS_NON_LATIN:
        return False
    if "\u4e00" <= token.key[0] <= "\u9fff" and (
        set(token.key) & _CHINESE_SENTENCE or any(keyword in token.key for keyword in _KEYWORDS)
    ):
        return False  # "我需要帮助" is a sentence, not a name
    return (
        any(char.isalpha() for char in token.key) or re.fullmatch(r"\d+(ST|ND|RD|TH)", token.key) is not None
    )


def _street_address(text: str, tokens: list[_Token], streets: frozenset[str]) -> int | None:
    """Where a house number and its street start ("4500 Lindell Blvd", "٣٣٠٠ شارع غرافوا")."""
    for index, token in enumerate(tokens):
        if not _HOUSE_NUMBER.fullmatch(token.key) or token.key.startswith("0"):
            continue
        if token.start >= 2 and text[token.start - 1] in "-.)" and text[token.start - 2].isdigit():
            continue  # the end of a phone number: 314-555-0177
        following = tokens[index + 1 : index + 6]
        name_at = index + 1
        while name_at < len(tokens) and tokens[name_at].key in DIRECTIONS:
            name_at += 1
        if name_at >= len(tokens) or tokens[name_at].key in QUANTITIES:
            continue
        name = tokens[name_at]
        if name.key.isdigit() or not _name_like(name, streets):
            continue  # "314 555 0199", "he is 25 and ..."
        typed = any(_is_street_type(later) for later in following)
        known = _known_street_at(tokens, name_at, streets)
        if not (typed or known or len(token.key.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) >= 3):
            continue  # "7 oak" may be anything; "7 Oak St" and "4500 lindell" are places
        window = tokens[min(index + ADDRESS_WORDS, len(tokens) - 1)].end  # bounded: linear time
        if name.latin and not _parsed_as_address(text[token.start : window]):
            continue
        street_before = _run(tokens, index - 1, -1, streets)
        if name.key == "号" and street_before and _signals_a_street(street_before, tokens, streets):
            return street_before[0].start  # Chinese puts the street first: "Grand大道3600号"
        return token.start
    return None


def _parsed_as_address(text: str) -> bool:
    """usaddress reads the words from the number on as a house number and a street."""
    try:
        labels = [label for _word, label in usaddress.parse(text)]
    except Exception:  # whatever the parser cannot read is not an address, never a 500
        return False
    return bool(labels) and labels[0] == "AddressNumber" and "StreetName" in labels[:6]


def _run(tokens: list[_Token], start: int, step: int, streets: frozenset[str]) -> list[_Token]:
    """Up to three name-like tokens from `start`, walking by `step` (1 or -1)."""
    run: list[_Token] = []
    index = start
    while 0 <= index < len(tokens) and len(run) < 3 and _name_like(tokens[index], streets):
        run.append(tokens[index])
        index += step
    return run if step == 1 else run[::-1]


def _title_case(run: list[_Token]) -> bool:
    return all(token.text[:1].isupper() or token.text[:1].isdigit() for token in run if token.latin)


def _signals_a_street(run: list[_Token], tokens: list[_Token], streets: frozenset[str]) -> bool:
    """A known street, or a name with its street type ("Olive St", "calle Olive"); a
    type alone is not enough ("place" is also Bosnian for "cries")."""
    for position, token in enumerate(run):
        if _known_street_at(tokens, tokens.index(token), streets):
            return True
        if (token.key in POSTFIX_TYPES and position > 0) or (
            token.key in PREFIX_TYPES and position < len(run) - 1
        ):
            return True
        if token.key.endswith(CHINESE_TYPES) and token.key not in CHINESE_TYPES:
            return True
    return False


def _intersection(text: str, tokens: list[_Token], streets: frozenset[str]) -> int | None:
    """Where two streets joined by "and" start ("Kingshighway and Chippewa")."""
    question = any(mark in text for mark in "?？؟")
    for index, token in enumerate(tokens):
        if token.key not in CONNECTORS:
            continue
        left = _run(tokens, index - 1, -1, streets)
        right = _run(tokens, index + 1, 1, streets)
        if not left or not right:
            continue
        sides = left + right
        if _signals_a_street(left, tokens, streets) or _signals_a_street(right, tokens, streets):
            return left[0].start
        # Without a known street or a street type, only two names written as names are
        # taken for streets ("Kingsbury and Big Bend"): a description ("place i lupa
        # glavom", "crying and yelling") must never reach dispatch as a place.
        if question or any(token.latin and token.key.endswith("ING") for token in sides):
            continue
        if all(token.latin for token in sides) and _title_case(sides) and len(left) <= 2 and len(right) <= 2:
            return left[0].start
    return None


def _landmark(tokens: list[_Token], streets: frozenset[str]) -> int | None:
    """Where a landmark on a street starts ("the Walgreens on Grand")."""
    for index, token in enumerate(tokens):
        if token.key not in LANDMARK_LINKS or index == 0:
            continue
        landmark = _run(tokens, index - 1, -1, streets)
        street = _run(tokens, index + 1, 1, streets)
        if landmark and street and _signals_a_street(street, tokens, streets):
            return landmark[0].start
    return None


def find_place(text: str, streets: Collection[str] = ()) -> str | None:
    """The place in a text, as the texter wrote it, or None when it holds no place."""
    readable = ascii_digits(text)  # one character for one: positions still match `text`
    tokens = _tokens(readable)
    known = _streets_key(tuple(streets))
    starts = [
        start
        for start in (
            _street_address(readable, tokens, known),
            _intersection(readable, tokens, known),
            _landmark(tokens, known),
        )
        if start is not None
    ]
    if not starts:
        return None
    return text[min(starts) :].strip()
