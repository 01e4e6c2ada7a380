"""The emulated tenant's HTTP surface: authentication, the two iFlow addresses, nothing else."""

from __future__ import annotations

from bottle import Bottle, HTTPResponse, request

from smsbounce.plumbing.web import BasicAuth, HttpError, json_response

from .errors import failed_exchange, router_error
from .iflows import (
    MAX_PACKAGE_BYTES,
    BadPackage,
    TargetFailed,
    read_package,
    relay_status,
    send_package,
)
from .settings import Settings

REALM = "smsbounce cpi-proxy"


def create_app(settings: Settings) -> Bottle:
    """Build the proxy. Every request needs basic auth (401); the two addresses need the
    configured role (403); any other path is 404, a wrong method 405."""
    app = Bottle()
    app.default_error_handler = router_error
    context = settings.ssl_context()
    users = {user.name: user for user in settings.users}
    auth = BasicAuth({user.name: user.password for user in settings.users}, REALM)
    addresses = {settings.status_path, settings.send_path}

    @app.hook("before_request")
    def authorize():
        # As on a CPI tenant, authentication comes first (even for unknown addresses: the
        # tenant's front door checks it), so it is checked for every request, not per route;
        # the role is checked by the addressed iFlow.
        try:
            name = auth.user()
        except HttpError as exc:
            raise exc.response() from None
        if request.path in addresses and settings.role not in users[name].roles:
            raise json_response(403, f"user {name!r} does not have the role {settings.role}")

    @app.get(settings.status_path)
    def status():
        """Marketing's bounce pull, relayed to the buffer (2xx unchanged, else CPI's 500)."""
        try:
            answer = relay_status(settings, context, request.environ.get("QUERY_STRING", ""))
        except TargetFailed as exc:
            return failed_exchange(str(exc))
        headers = {"Content-Type": answer.content_type} if answer.content_type else {}
        return HTTPResponse(answer.body, status=answer.status, headers=headers)

    @app.post(settings.send_path)
    def send():
        """A package of messages → one DI order each; 400 for a package breaking the contract."""
        if request.content_length > MAX_PACKAGE_BYTES:
            return json_response(413, f"the package is larger than {MAX_PACKAGE_BYTES} bytes")
        try:
            package = read_package(request.body.read())
        except BadPackage as exc:
            return json_response(400, str(exc), exc.parameter)
        try:
            return send_package(settings, context, package)
        except TargetFailed as exc:
            return failed_exchange(str(exc))

    return app
