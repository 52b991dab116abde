"""Which of the portal's languages a piece of writing is in: by its script for Arabic
and Chinese, by a language identifier (py3langid) for a Latin-script sentence.

Used by the text line (the language of a first text) and by the officer brief (family
text written in another language is marked with it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import py3langid


def language_of_script(text: str) -> str | None:
    """Arabic and Chinese are told apart by their script; Latin scripts are not guessed."""
    for char in text:
        if "\u0600" <= char <= "\u06ff":
            return "ar"
        if "\u4e00" <= char <= "\u9fff":
            return "zh"
    return None


# Bosnian is written like Croatian and Serbian: the identifier names any of the three.
_IDENTIFIED = {"en": "en", "es": "es", "bs": "bs", "hr": "bs", "sr": "bs", "vi": "vi"}
_IDENTIFIER_SURE = 0.8  # below this, a short text's language is not guessed
_IDENTIFIER_MIN_WORDS = 4


@lru_cache(maxsize=1)
def _identifier() -> py3langid.langid.LanguageIdentifier:
    model = Path(py3langid.langid.MODEL_DIR) / py3langid.langid.MODEL_FILE
    identifier = py3langid.langid.LanguageIdentifier.from_modelpath(model, norm_probs=True)
    identifier.set_languages(list(_IDENTIFIED))
    return identifier


def language_of_sentence(text: str) -> str | None:
    """A Latin-script text's language, when it has enough words to tell and the
    identifier is sure ("mi hijo esta muy mal"); None for "hurry" or "ok ok". Give it
    the text without its place: street names are no language's words."""
    words = [word for word in text.split() if not any(char.isdigit() for char in word)]
    if len(words) < _IDENTIFIER_MIN_WORDS:
        return None
    sure: dict[str, float] = {}
    for language, probability in _identifier().rank(" ".join(words).lower()):
        if language in _IDENTIFIED:
            ours = _IDENTIFIED[language]
            sure[ours] = sure.get(ours, 0.0) + probability
    best = max(sure, key=lambda language: sure[language])
    return best if sure[best] >= _IDENTIFIER_SURE else None


def language_of_writing(text: str) -> str | None:
    """The language of a family's answer or a texter's sentence, when it can be told."""
    return language_of_script(text) or language_of_sentence(text)
