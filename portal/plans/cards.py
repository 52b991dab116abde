"""The wallet and fridge cards: what to say to 911, in English and in the plan's
language, and a QR code that texts the CIT text line the plan's code."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.i18n import ENGLISH, Language
from portal.links import sms_link


@dataclass(frozen=True)
class Say:
    language: Language
    text: Markup


def _sentences(reference: str) -> list[Markup]:
    """The sentences in the locale in force, the code kept left to right inside them."""
    code = Markup('<bdi dir="ltr">{}</bdi>').format(reference)
    return [
        escape(_("In a crisis, call 911 and ask for a CIT officer.")),
        # Translators: said to 911; %(reference)s is the plan's code, such as K7QM-3XPA.
        escape(_("Tell the call-taker a crisis plan is on file: plan %(reference)s.")) % {"reference": code},
    ]


def what_to_say(reference: str, language: Language) -> list[Say]:
    """English always, so anyone can read it out to 911; then the plan's language, with
    only the sentences already translated (English twice helps nobody)."""
    with force_locale(ENGLISH.catalogue):
        english = _sentences(reference)
    said = [Say(ENGLISH, Markup(" ").join(english))]
    if language is not ENGLISH:
        with force_locale(language.catalogue):
            translated = [own for own, en in zip(_sentences(reference), english, strict=True) if own != en]
        if translated:
            said.append(Say(language, Markup(" ").join(translated)))
    return said


def text_line_uri(language: Language, reference: str) -> str | None:
    """The sms: URI that texts the CIT line the plan's code, or None while the line has
    no number (the card then leaves the text line out)."""
    number = current_app.config["PORTAL_SETTINGS"].twilio_from_number
    return sms_uri(number, language.text_keyword, reference) if number else None


def sms_uri(text_line: str, keyword: str, reference: str) -> str:
    """A text to the CIT line holding a CIT keyword and the plan's code: the language's own
    keyword gets replies in that language, and the code tells dispatch which plan."""
    return sms_link(text_line, f"{keyword} {reference}")


def qr_data_uri(uri: str) -> str:
    """A QR code of `uri` as a data: SVG image (the CSP allows data: images; an <img>
    keeps an alt text and no ids clash when it is shown twice)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = io.BytesIO()
    image.save(svg)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")
