"""The way a report comes in and a page goes out, as a chain of ``file:function``.

``python -m bench.paths`` calls the buffer's WSGI app in-process (SQLite in a temporary folder)
with one Digital Interconnect report and one windowed page, records every function of the
repository entered (``sys.setprofile``; comprehensions folded into their caller), and prints
per path the chain of module visits and how often each module is re-entered after it was left
— the figure issue 19 asked for, to compare a refactoring's before and after (run it in a
checkout of each).
"""

from __future__ import annotations

import base64
import io
import os
import sys
import tempfile
from wsgiref.util import setup_testing_defaults

from smsbounce.buffer.app import create_app
from smsbounce.buffer.settings import Settings
from smsbounce.buffer.store import Store

REPORT = (
    "orderid={id}&time=155423&date=14032018&msisdn=%2B49123456789"
    "&status=0x4503%20out%20of%20coverage"
)
WINDOW = "page=0&startTimeUTC=20000101000000&endTimeUTC=20000301000000&sourceSystem=MKT"
PASSWORD = "paths-password-0123456789"  # noqa: S105 - a throwaway buffer of its own


def _environ(path: str, query: str, auth: bool = False) -> dict:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=query, REMOTE_ADDR="127.0.0.1")
    environ["wsgi.input"] = io.BytesIO(b"")
    if auth:
        token = base64.b64encode(f"marketing:{PASSWORD}".encode()).decode()
        environ["HTTP_AUTHORIZATION"] = "Basic " + token
    return environ


def _call(app, environ: dict) -> str:
    seen = {}
    b"".join(app(environ, lambda status, headers, exc_info=None: seen.update(status=status)))
    return seen["status"]


def trace(app, environ: dict, root: str) -> tuple[str, list[tuple[str, str]]]:
    """The answer's status and the chain of (module, function) visits of the repository."""
    calls: list[tuple[str, str]] = []

    def profile(frame, event, arg):
        code = frame.f_code
        own = code.co_filename.startswith(root) and not code.co_name.startswith("<")
        own = own and code.co_filename != __file__  # not this harness
        if event == "call" and own:
            calls.append((os.path.relpath(code.co_filename, root), code.co_name))

    sys.setprofile(profile)
    try:
        status = _call(app, environ)
    finally:
        sys.setprofile(None)
    chain = [call for i, call in enumerate(calls) if i == 0 or calls[i - 1][0] != call[0]]
    return status, chain


def reentries(chain: list[tuple[str, str]]) -> dict[str, int]:
    seen: set[str] = set()
    found: dict[str, int] = {}
    for module, _ in chain:
        if module in seen:
            found[module] = found.get(module, 0) + 1
        seen.add(module)
    return found


def main() -> None:
    root = os.path.dirname(os.path.dirname(sys.modules[create_app.__module__].__file__))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/paths.db",
            api_password=PASSWORD,
            settle_lag=0.0,
            environment="test",
        )
        store = Store.open(settings)
        store.create_tables()
        app = create_app(settings, store)
        _call(app, _environ("/api/v1/notifications/set", REPORT.format(id="warm")))
        _call(app, _environ("/api/v1/notifications/get", "", auth=True))
        for name, environ in (
            ("report in", _environ("/api/v1/notifications/set", REPORT.format(id="1"))),
            ("page out", _environ("/api/v1/notifications/get", WINDOW, auth=True)),
        ):
            status, chain = trace(app, environ, root)
            again = reentries(chain)
            modules = len({module for module, _ in chain})
            print(f"## {name} ({status}): {len(chain)} module visits, {modules} modules, ", end="")
            print(f"{sum(again.values())} re-entries")
            print(" → ".join(f"{module}:{function}" for module, function in chain))
            shown = sorted(again.items(), key=lambda item: -item[1])
            print("re-entered: " + ", ".join(f"{module} ×{n}" for module, n in shown) + "\n")
        store.close()


if __name__ == "__main__":
    main()
