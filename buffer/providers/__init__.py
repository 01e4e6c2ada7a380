"""Provider profiles: every supported callback format behind one interface (``base.Profile``).

Built in: ``di`` (code), ``twilio`` (file + signature check), ``aws-sms`` (file + SNS's
subscription handshake) and the purely declarative files in
``profiles/``. ``SMSBOUNCE_PROVIDER_FILES`` adds files of the same shape; a file whose name is a
built-in's replaces it (to change, say, which Vonage codes are transient).
"""

from __future__ import annotations

import json
from importlib.resources import files

from .base import Answer, Incoming, Profile, Quarantined, Rejected
from .di import DigitalInterconnect
from .generic import GenericProfile, ProfileError
from .sns import AwsSms
from .twilio import Twilio

__all__ = [
    "Answer",
    "GenericProfile",
    "Incoming",
    "Profile",
    "ProfileError",
    "Quarantined",
    "Rejected",
    "load_profiles",
    "no_such_profile",
]


def no_such_profile(name: str, profiles) -> str:
    """What every command says of a name that is no profile's (a typo must not pass)."""
    return f"no profile {name!r}; known: {', '.join(sorted(profiles))}"


def _builtin_documents() -> dict[str, tuple[dict, str]]:
    documents = {}
    for entry in sorted((files(__name__) / "profiles").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            document = json.loads(entry.read_text(encoding="utf-8"))
            documents[document["name"]] = (document, f"built-in {entry.name}")
    return documents


def load_profiles(settings) -> dict[str, Profile]:
    """Every profile this buffer serves, by name. Raises ProfileError naming a bad file."""
    di = DigitalInterconnect(settings.status_table, settings.timezone)
    profiles: dict[str, Profile] = {"di": di}
    for name, (document, source) in _builtin_documents().items():
        profiles[name] = _build(document, source, settings)
    for path in settings.provider_files:
        profile = GenericProfile.from_file(path)
        profiles[profile.name] = _build(profile.document, str(path), settings)
    return profiles


def _build(document: dict, source: str, settings) -> Profile:
    if document["name"] == "twilio":
        return Twilio(document, source, settings.twilio_auth_token)
    if document["name"] == "aws-sms":
        return AwsSms(document, source)
    return GenericProfile(document, source)
