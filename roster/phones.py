"""Phone numbers: parse what people type, store E.164."""

from __future__ import annotations

# phonenumbers is imported where it is used: loading its metadata takes 30 ms, which the
# dashboard would otherwise pay before its first paint without ever parsing a number.

DEFAULT_REGION = "GB"
# Ofcom reserves 07700 900000-900999 for drama and testing: never a real phone, so
# phonenumbers calls them invalid, yet they are exactly what demos and tests should use.
OFCOM_TEST_MOBILE_PREFIX = "+447700900"


class PhoneError(ValueError):
    """A phone number that cannot be used; the message says why."""


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """Return ``text`` as E.164 (``07700 900123`` -> ``+447700900123``) or raise PhoneError."""
    import phonenumbers

    raw = (text or "").strip()
    if not raw:
        raise PhoneError("phone number is empty")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"'{raw}' is not a phone number") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    reserved_for_testing = e164.startswith(OFCOM_TEST_MOBILE_PREFIX) and len(e164) == 13
    if not (phonenumbers.is_valid_number(number) or reserved_for_testing):
        raise PhoneError(f"'{raw}' is not a valid phone number")
    return e164


def display_phone(e164: str) -> str:
    """A phone number as people in its country write it (``07700 900123``)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == phonenumbers.country_code_for_region(DEFAULT_REGION):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
