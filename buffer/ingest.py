"""Reports arriving over HTTP: the two ingest routes.

Each request is read into an ``intake.RawRequest`` (its body bounded before it is read) and
passes the one door (``intake.Intake``); what comes back is told to ``on_taken`` (the metrics
and the status page's counts) and answered the way the provider expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bottle import request, response

from smsbounce.plumbing.jsontext import dumps

from .errors import (
    BodyTooLarge,
    HttpError,
    InvalidParameter,
    UnknownProvider,
    UnreadableBody,
)
from .intake import Intake, RawRequest
from .keeping import Bounds
from .providers import Profile
from .request_params import MAX_BODY_BYTES
from .settings import Settings
from .store import Store
from .verdicts import Taken

INGEST = "/api/v1/notifications/set"
PROVIDER_REPORT = "/api/v1/providers/<name>/report"
UNKNOWN = "unknown"  # the provider label of a name no profile has: callers cannot invent labels
# The environ key of what the event loop's intake (``loop_intake``) met saving a request's reports
# that is no HttpError: the route raises it, as the threads' save would have, and Bottle answers.
SAVE_FAILED = "smsbounce.save_failed"


class ReportRoutes:
    """The handlers of ``INGEST`` (Digital Interconnect, the article's path) and
    ``PROVIDER_REPORT`` (any profile), each with or without a token in the path."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        profiles: Mapping[str, Profile],
        on_taken: Callable[[Taken], None],
        flush: Callable[[], None] = lambda: None,
    ):
        """``on_taken`` is told every request's ``Taken``; ``flush`` (writes what was counted
        when due) runs after it, on a thread that may wait for the database (not the loop's)."""
        self.settings, self.profiles, self.on_taken = settings, profiles, on_taken
        self.flush = flush
        self.intake = Intake(
            settings.ingest_tokens,
            store.save_all,
            usage=store.quarantine.usage,
            bounds=Bounds(settings.unmapped_max_entries, settings.unmapped_max_bytes),
            keep_all_until=settings.keep_all_reports_until,
        )

    def install(self, app) -> None:
        app.route(INGEST, "GET", self.digital_interconnect)
        app.route(INGEST + "/<token>", "GET", self.digital_interconnect)
        app.route(PROVIDER_REPORT, ["GET", "POST"], self.provider)
        app.route(PROVIDER_REPORT + "/<token>", ["GET", "POST"], self.provider)

    def digital_interconnect(self, token: str | None = None):
        """A Digital Interconnect report at the article's path. 200 once stored (or knowingly
        ignored); 400 names the bad parameter; 404 for a missing or wrong token; 503 when
        nothing could be stored."""
        return self._take(self.profiles["di"], token)

    def provider(self, name: str, token: str | None = None):
        """A report in provider ``name``'s own format; answered the way that provider expects.
        404 for a name no profile has, 405 for a method the provider does not use."""
        profile = self.profiles.get(name)
        if profile is None:
            return self._refuse(None, UnknownProvider(f"no provider profile named {name!r}"))
        return self._take(profile, token)

    def _take(self, profile: Profile, token: str | None):
        failed = request.environ.get(SAVE_FAILED)
        if failed is not None:
            raise failed  # the loop's save failed with what the threads' would have raised
        try:
            raw = self.raw_request(request, token)
        except HttpError as exc:
            return self._refuse(profile, exc)
        taken = self.intake.take(profile, raw)
        self.on_taken(taken)
        self.flush()
        if taken.error is not None:
            raise taken.error
        response.status, response.content_type, body = reply(profile, taken)
        return body

    def _refuse(self, profile: Profile | None, error: HttpError):
        """A request refused before the door: counted like the rest, then raised."""
        self.on_taken(Taken.refused(profile.name if profile else UNKNOWN, error))
        raise error

    def raw_request(self, request, token: str | None) -> RawRequest:
        """What ``request`` (a Bottle request) brings to the door; HttpError for a body that
        is too large or unreadable."""
        environ = request.environ
        query_string = environ.get("QUERY_STRING", "")
        return RawRequest(
            method=request.method,
            query_string=query_string,
            content_type=environ.get("CONTENT_TYPE", ""),
            body=_body(environ) if request.method == "POST" else b"",
            token=token,
            url=lambda: self._url(request, query_string),
            headers=lambda: {name.lower(): value for name, value in request.headers.items()},
        )

    def _url(self, request, query_string: str) -> str:
        """The URL the provider called (what Twilio signs): the public one behind a proxy."""
        if self.settings.public_url:
            path = self.settings.public_url + request.path
            return path + ("?" + query_string if query_string else "")
        return request.url


def reply(profile: Profile, taken: Taken) -> tuple[int, str, str]:
    """Status, content type and body of the answer to reports taken (``taken.error`` is None):
    the provider's own answer if its profile names one, else the buffer's JSON result."""
    answer = profile.answer
    if answer.body is not None:
        return answer.status, answer.content_type, answer.body
    return 200, "application/json", dumps(taken.answer)


def _body(environ: dict) -> bytes:
    """The request body, refused with 413 beyond the limit before it is read into memory.

    Read straight from the server rather than through Bottle, which spools large bodies to
    temporary files.
    """
    length = _content_length(environ.get("CONTENT_LENGTH") or "")
    if length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    stream = environ["wsgi.input"]
    try:
        raw = stream.read(length) if length >= 0 else stream.read(MAX_BODY_BYTES + 1)
    except Exception:
        # Whatever the server raises while it reads the body (broken chunked framing, a
        # client gone mid-body) is the sender's broken request, not our error.
        raise UnreadableBody(
            "the body could not be read: its chunked framing is broken or it was cut off"
        ) from None
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw


def _content_length(text: str) -> int:
    """The ``Content-Length`` in bytes; -1 when absent (a chunked body)."""
    if not text:
        return -1
    if not (text.isascii() and text.isdigit()):
        raise InvalidParameter("Content-Length", "Content-Length must be a whole number of bytes")
    return int(text)
