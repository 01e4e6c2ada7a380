"""Report formats: each provider's delivery-report callback, built from one planned report (pure).

The send API stays Digital Interconnect's; ``--profile NAME`` only changes how reports reach the
``AckReplyAddress``. One module per provider, mirroring ``smsbounce.buffer.providers``; what they
share is in ``base``. A ``Format`` answers three questions about a planned report:

- ``item``: the report as the provider writes it (query/form pairs or a JSON object);
- ``request``: the HTTP request carrying one item — or several, for a provider that batches;
- ``stored``: what the buffer's profile of the same name will make of it (type, statusCode,
  statusText, recipient, timestamp) — the ground truth's side of the bargain.

Built from the providers' public documentation and the buffer's declarative profile files; this
package never imports the buffer (the end-to-end tests prove both agree).
"""

from __future__ import annotations

from importlib.resources import files

from .base import (
    STATUS_CODE_MAX,
    STATUS_TEXT_MAX,
    Format,
    Item,
    ReportContext,
    Request,
    Stored,
    buffer_text,
    encode_pairs,
    join_url,
)
from .di import DigitalInterconnect, di_params
from .infobip import Infobip
from .jasmin import JASMIN_ACK, Jasmin
from .kannel import Kannel
from .profile import ProfileFormat, ProfileFormatError
from .sinch import Sinch
from .twilio import Twilio, twilio_signature
from .vonage import Vonage

__all__ = [
    "BUILT_IN_PROFILES",
    "FORMATS",
    "JASMIN_ACK",
    "STATUS_CODE_MAX",
    "STATUS_TEXT_MAX",
    "DigitalInterconnect",
    "Format",
    "Item",
    "ProfileFormat",
    "ProfileFormatError",
    "ReportContext",
    "Request",
    "Stored",
    "buffer_text",
    "di_params",
    "encode_pairs",
    "join_url",
    "make_format",
    "twilio_signature",
]

FORMATS = ("di", "twilio", "vonage", "infobip", "sinch", "kannel", "jasmin")
# The buffer's other built-in profiles (read as data, as a user's profile file would be):
# rendered from the file itself (``profile.ProfileFormat``).
BUILT_IN_PROFILES = {
    entry.name.removesuffix(".json"): str(entry)
    for entry in (files("smsbounce.buffer.providers") / "profiles").iterdir()
    if entry.name.endswith(".json")
}


def make_format(name: str, *, twilio_auth_token: str | None = None) -> Format:
    """The format called ``name`` (one of ``FORMATS``), or the one a profile file describes
    (a path ending in ``.json``; ``profile.ProfileFormat``)."""
    if name.endswith(".json"):
        return ProfileFormat.from_file(name)
    if name not in FORMATS and name in BUILT_IN_PROFILES:
        return ProfileFormat.from_file(BUILT_IN_PROFILES[name])
    classes = {
        "di": DigitalInterconnect,
        "vonage": Vonage,
        "infobip": Infobip,
        "sinch": Sinch,
        "kannel": Kannel,
        "jasmin": Jasmin,
    }
    if name == "twilio":
        return Twilio(twilio_auth_token)
    if name not in classes:
        raise ValueError(f"unknown profile {name!r}; one of {', '.join(FORMATS)}")
    return classes[name]()
