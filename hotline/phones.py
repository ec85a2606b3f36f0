"""Phone numbers in one form, E.164 (`+8613912345678`), whatever way they were typed or sent
(docs/integration.md, the Additions): the intake form and the API, Twilio's webhooks, users'
and units' phones. Parsing is Google's libphonenumber (the `phonenumbers` package), with China
as the region a number without a country code belongs to.

A value that is not a phone number (a SIP address, a Twilio Client identity, a withheld-number
marker) is left as it is by `normalize`; `to_e164` says None for it.
"""

import re

import phonenumbers

REGION = "CN"
# What a person may type around the digits: spaces, dashes, dots, brackets, a leading + or 00.
_TYPED = re.compile(r"^\+?[\d\s\-.()（）]{3,40}$")


def to_e164(text: str | None, region: str = REGION) -> str | None:
    """`text` as E.164, or None when it is not a possible phone number."""
    text = (text or "").strip()
    if not _TYPED.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(text: str | None) -> str | None:
    """E.164 for a phone number; anything else (a SIP or client address, "anonymous", empty)
    unchanged."""
    return to_e164(text) or text


def national_digits(text: str | None, region: str = REGION) -> str:
    """The digits as dialled at home (a landline with its 0: 051688880000), for search; "" when
    `text` is not a number."""
    e164 = to_e164(text, region)
    if e164 is None:
        return ""
    number = phonenumbers.parse(e164)
    return re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
