"""SMS segment maths, on the exact body sent.

GSM-7: 160 characters alone, 153 a segment when split; characters of the extension table
(such as [ ] { } € ~) take two. Any other character, even á, č or a curly quote, makes
the whole message UCS-2: 70 alone, 67 a segment, counted in UTF-16 code units.
"""

from __future__ import annotations

import math

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def is_gsm7(body: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body)


def segment_count(body: str) -> int:
    if is_gsm7(body):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in body)
        return 1 if length <= 160 else math.ceil(length / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
