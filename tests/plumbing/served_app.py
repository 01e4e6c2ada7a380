"""A tiny WSGI app on one of our production servers, as its own process:
``python -m tests.plumbing.served_app granian|gunicorn`` prints "listening on URL".

- ``/echo`` answers what the app was handed: the body and the header fields;
- ``/hold`` prints "holding", then answers once the file ``$HOLD_RELEASE`` exists;
- a body over ``MAX_BODY`` bytes is answered 413 with how much of it was read, as the buffer
  refuses it;
- every refusal the server makes itself is printed as "refused STATUS" (``ObservesRefusals``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from smsbounce.plumbing.granian_server import GranianServer
from smsbounce.plumbing.gunicorn_server import GunicornServer
from smsbounce.plumbing.web import error_body
from smsbounce.plumbing.wsgi_bridge import WsgiBridge

MAX_BODY = 1000
TIMEOUT = 1  # seconds a request's head, and then its body, may take
REFUSED_BY = ("X-Refused-By", "served-app")
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
    "loggers": {"_granian": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
}


class App:
    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH", "")
        announced = int(length) if length.isdigit() else 0
        body = b"" if announced > MAX_BODY else environ["wsgi.input"].read()
        if max(announced, len(body)) > MAX_BODY:
            message = f"the body is larger than {MAX_BODY} bytes ({len(body)} read)"
            start_response("413 Content Too Large", [("Content-Type", "application/json")])
            return [error_body(413, message).encode()]
        if environ["PATH_INFO"] == "/hold":
            print("holding", flush=True)
            while not Path(os.environ["HOLD_RELEASE"]).exists():
                threading.Event().wait(0.01)
        seen = {
            "body": body.decode("latin-1"),
            "headers": {key: value for key, value in environ.items() if key.startswith("HTTP_")},
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]

    def refused(self, environ: dict, status: int, seconds: float) -> list[tuple[str, str]]:
        print(f"refused {status}", flush=True)
        return [REFUSED_BY]


def main(adapter: str) -> None:
    if adapter == "granian":
        bridge = WsgiBridge(App(), threads=2, body_timeout=TIMEOUT, max_body=MAX_BODY)
        server = GranianServer(
            bridge,
            "127.0.0.1",
            0,
            workers=1,
            header_timeout=TIMEOUT,
            graceful_timeout=30,
            log_config=LOG_CONFIG,
        )
    else:
        server = GunicornServer(
            App(), "127.0.0.1", 0, workers=1, threads=2, timeout=30, graceful_timeout=30
        )
    server.run(lambda url: print(f"listening on {url}", flush=True))


if __name__ == "__main__":
    main(sys.argv[1])
