"""`From` and `To` of a Twilio webhook must look like what Twilio sends: a phone number
(E.164 or a short code), a SIP address, a Twilio Client identity, or a withheld-number
marker. Anything else (a signed request carrying a made-up sender) is refused with 400
before anything is stored, so no ticket is opened and no receipt is queued to it.
"""

import re

from hotline.channels.settings import is_anonymous

PARTY_FIELDS = ("From", "To")
PHONE = re.compile(r"\+?[0-9]{3,15}")
SIP = re.compile(r"sip:[A-Za-z0-9+._~%!$&'()*,;=:-]{1,128}@[A-Za-z0-9.-]{1,128}(:[0-9]{1,5})?"
                 r"(;[^\s<>\"]{0,200})?")
CLIENT = re.compile(r"client:[A-Za-z0-9_.@-]{1,121}")


def looks_like_party(value: str) -> bool:
    """A phone number, a SIP address, a Twilio Client identity, or a withheld-number marker."""
    value = value.strip()
    return (is_anonymous(value) or bool(PHONE.fullmatch(value)) or bool(SIP.fullmatch(value))
            or bool(CLIENT.fullmatch(value)))


def bad_parties(form) -> list[str]:
    """The names of the form's From/To fields that are present but do not look like a party."""
    return [name for name in PARTY_FIELDS if name in form and not looks_like_party(form[name])]
