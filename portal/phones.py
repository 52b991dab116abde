"""Phone numbers: one E.164 form, however a person writes them."""

from __future__ import annotations

import phonenumbers

from portal.crypto import vault

# Numbers without a country code are read as U.S. numbers: the portal serves one region.
DEFAULT_REGION = "US"


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str) -> str:
    """'(314) 555-0100', '314.555.0100' and '+1 314 555 0100' all give '+13145550100'."""
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(raw) from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# What a verification code may be texted to: no premium-rate, shared-cost or
# international-network ranges.
_TEXTABLE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
    }
)


def may_text(e164: str, countries: tuple[str, ...]) -> bool:
    """A valid number of one of `countries` that can be texted a code (SMS pumping)."""
    number = phonenumbers.parse(e164, DEFAULT_REGION)
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) in countries
        and phonenumbers.number_type(number) in _TEXTABLE_TYPES
    )


def phone_index(e164: str) -> str:
    """The blind index used to find a phone without storing it in the clear."""
    return vault().blind_index("phone:" + e164)


def for_display(e164: str) -> str:
    """A U.S. number as residents write it: (314) 555-0100; others in international form."""
    number = phonenumbers.parse(e164, DEFAULT_REGION)
    if number.country_code == 1:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def for_sentence(e164: str) -> str:
    """for_display() isolated left to right, so that it reads correctly inside an
    Arabic sentence (Unicode LRI ... PDI). For pages only: it is not GSM-7."""
    return "\u2066" + for_display(e164) + "\u2069"
