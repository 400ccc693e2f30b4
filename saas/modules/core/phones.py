"""Phone numbers: stored in E.164 (``+49301234567``), read in the workspace's default region when typed
without a country code, and shown in the reader's format (national at home, international abroad).

Extensions are kept, RFC 3966 style: ``+49301234567;ext=12`` (E.164 has no place for them, and an import
of ``030 1234567 ext. 12`` should not lose them). Values stored before normalisation stay as they were
until someone edits the number; :func:`display_phone` shows one it cannot read as stored.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.core.models import PhoneSettings
from saas.modules.core.workspace_settings import change_setting, setting

PHONE_FIELD = "phone"
"""The column every record type with a phone number (contacts, accounts, leads) names it by."""
MAX_STORED_LENGTH = 40  # the phone columns' width
EXTENSION = ";ext="
REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
"""ISO 3166 alpha-2 codes libphonenumber knows numbering plans for."""
FALLBACK_EXAMPLE = "+49 30 1234567"


def normalise_region(code: str | None, field_name: str = "region") -> str:
    """An ISO 3166 alpha-2 code in capitals with a numbering plan, or a ValidationError naming the field."""
    value = (code or "").strip().upper()
    if value not in REGIONS:
        message = N_("Use a two-letter ISO 3166 country code such as DE, RU, CN, IR or US.")
        raise ValidationError(message, {field_name: [message]})
    return value


def phone_region(session: TenantSession) -> str | None:
    """The workspace's default region; None until an admin sets one (numbers then need their country code:
    guessing a country from the workspace's language would misread Austrian numbers in a German one)."""
    return setting(session, PhoneSettings, "region")


def set_phone_region(session: TenantSession, code: str) -> str:
    """Change the default region; numbers stored already keep their country, being E.164."""
    value = normalise_region(code)
    return change_setting(
        session, PhoneSettings, "region", value, action="core.phone_region.changed", default=None
    )


def example_number(region: str | None) -> str:
    """A number of ``region`` as people there write it to the world, for messages."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
    if region is None or number is None:
        return FALLBACK_EXAMPLE
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def normalise_phone(value: str | None, region: str | None, field_name: str = PHONE_FIELD) -> str | None:
    """``value`` in E.164 (with ``;ext=`` and the extension if it has one); None when blank.

    A number without a country code is read in ``region``; anything that cannot be a whole number of its
    country (too short, too long, letters, no area code) is refused with a ValidationError naming
    ``field_name``.
    """
    text = (value or "").strip()
    if not text:
        return None
    message = N_(
        "Not a phone number: write it with its country code, e.g. %(example)s.",
        example=example_number(region),
    )
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise ValidationError(message, {field_name: [message]}) from None
    # A number dialable only within its area ("555 0100") has no E.164 form: it needs its area code.
    if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        raise ValidationError(message, {field_name: [message]})
    stored = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if number.extension:
        stored += EXTENSION + number.extension
    if len(stored) > MAX_STORED_LENGTH:
        too_long = N_("At most %(count)s characters with the extension.", count=MAX_STORED_LENGTH)
        raise ValidationError(too_long, {field_name: [too_long]})
    return stored


def normalise_phone_values(
    values: dict[str, Any], region: str | None, stored: str | None = None
) -> dict[str, Any]:
    """``values`` (a record's fields) with its phone in E.164, if it has one; ``stored`` is the record's
    current phone: given back unchanged it is kept as is (a value from before normalisation stays until
    someone edits the number, rather than failing every other edit of the record)."""
    if PHONE_FIELD not in values or (stored is not None and values[PHONE_FIELD] == stored):
        return values
    return {**values, PHONE_FIELD: normalise_phone(values[PHONE_FIELD], region)}


def display_phone(stored: str | None, reader_region: str | None) -> str:
    """A stored number as the reader writes it: national format when the number belongs to the reader's
    region, international otherwise; a value that is no number (stored before normalisation) as it is."""
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, None)  # stored numbers carry their country code
    except NumberParseException:
        return stored
    at_home = reader_region is not None and phonenumbers.region_code_for_number(number) == reader_region
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if at_home else PhoneNumberFormat.INTERNATIONAL
    )
