"""Phone numbers are what people type in; they are stored as E.164."""

import pytest

from roster.phones import PhoneError, display_phone, normalise_phone


@pytest.mark.parametrize(
    "typed",
    ["07700 900123", "07700900123", "+44 7700 900123", "0044 7700 900123", "(07700) 900-123", " 07700 900123 "],
)
def test_uk_mobile_in_any_usual_form_is_stored_as_e164(typed):
    assert normalise_phone(typed) == "+447700900123"


def test_real_uk_landline_and_foreign_numbers_are_accepted():
    assert normalise_phone("020 7946 0018") == "+442079460018"
    assert normalise_phone("+1 202 555 0143") == "+12025550143"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "phone number is empty"),
        ("   ", "phone number is empty"),
        ("not a phone", "'not a phone' is not a phone number"),
        ("123", "'123' is not a valid phone number"),
        ("07700 90012", "'07700 90012' is not a valid phone number"),
        ("07700 9001234", "'07700 9001234' is not a valid phone number"),
    ],
)
def test_bad_numbers_are_refused_with_a_message_naming_them(typed, message):
    with pytest.raises(PhoneError) as caught:
        normalise_phone(typed)
    assert str(caught.value) == message


def test_phone_error_is_a_value_error():
    assert issubclass(PhoneError, ValueError)


def test_numbers_are_displayed_the_way_people_write_them():
    assert display_phone("+447700900123") == "07700 900123"
    assert display_phone("+12025550143") == "+1 202-555-0143"
    assert display_phone("garbage") == "garbage"
