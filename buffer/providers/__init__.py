"""Provider profiles: every supported callback format behind one interface (``base.Profile``).

Built in: ``di`` (code), ``aws-sms`` (file + SNS's subscription handshake) and the purely
declarative files in ``profiles/``. ``SMSBOUNCE_PROVIDER_FILES`` adds files of the same shape; a
file whose name is a built-in's replaces it (to change, say, which Vonage codes are transient).
A profile's ``signature`` is checked with the key in the variable it names (``signatures``): a
built-in's only when that variable is set, a file's always (the start stops without it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from .base import Answer, Incoming, Profile, Quarantined, Rejected
from .di import DigitalInterconnect
from .generic import GenericProfile, ProfileError
from .signatures import configure, variable
from .sns import AwsSms

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
    "signature_variables",
    "unchecked_signatures",
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


def load_profiles(settings, require_keys: bool = True) -> dict[str, Profile]:
    """Every profile this buffer serves, by name. Raises ProfileError naming a bad file, a
    signature key that cannot be one, or (``require_keys``) a file's signature without its key."""
    di = DigitalInterconnect(settings.status_table, settings.timezone)
    profiles: dict[str, Profile] = {"di": di}
    builtins = _builtin_documents()
    for name, (document, source) in builtins.items():
        profiles[name] = _build(document, source, settings, document.get("signature"))
    for path in settings.provider_files:
        profile = GenericProfile.from_file(path)
        document = profile.document
        block = document.get("signature")
        if block is None and document["name"] == "twilio":
            # A file replacing Twilio's to change its codes keeps its signature check.
            block = builtins["twilio"][0]["signature"]
        elif require_keys:
            _require_key(block, str(path), settings)
        profiles[profile.name] = _build(document, str(path), settings, block)
    return profiles


def _require_key(block: dict | None, source: str, settings) -> None:
    """A signature written in an operator's file is checked, or the buffer does not start."""
    if block is not None and settings.signature_key(variable(block)) is None:
        raise ProfileError(
            f"{source}: signature {block['scheme']} needs the key in {variable(block)}, which is "
            "not set: set it, or remove the signature block to accept unsigned reports"
        )


def _build(document: dict, source: str, settings, block: dict | None) -> Profile:
    kind = AwsSms if document["name"] == "aws-sms" else GenericProfile
    profile = kind(document, source)
    if block is not None:
        try:
            profile.signature = configure(block, settings.signature_key(variable(block)))
        except ValueError as exc:
            raise ProfileError(f"{source}: signature {block['scheme']}: {exc}") from None
    return profile


def signature_variables(provider_files: Iterable[str]) -> tuple[str, ...]:
    """The variables every profile's signature reads its key from (for ``Settings.from_env``,
    which reads them). Raises ProfileError naming a file that is no valid profile."""
    documents = [document for document, _ in _builtin_documents().values()]
    documents += [GenericProfile.from_file(Path(path)).document for path in provider_files]
    return tuple(sorted({variable(d["signature"]) for d in documents if "signature" in d}))


def unchecked_signatures(profiles: dict[str, Profile]) -> list[str]:
    """``name (VARIABLE)`` of each profile whose signature is not checked: its key is not set."""
    return [
        f"{name} ({profile.signature.variable})"
        for name, profile in sorted(profiles.items())
        if getattr(profile, "signature", None) and profile.signature.check is None
    ]
