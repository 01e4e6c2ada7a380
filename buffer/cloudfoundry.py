"""Cloud Foundry's environment: the bound PostgreSQL in ``VCAP_SERVICES`` (pure functions).

Brokers write credentials differently: most give a ``uri`` (``postgres://…``), SAP BTP's
PostgreSQL on SAP BTP, hyperscaler option gives ``hostname``/``port``/``username``/``password``/
``dbname`` (and ``sslmode`` when it wants TLS). The first service that looks like PostgreSQL —
by label, tag or URI scheme — is taken; a name can be forced with ``SMSBOUNCE_CF_SERVICE``.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

POSTGRES_HINTS = ("postgres", "postgresql")


class VcapError(ValueError):
    """``VCAP_SERVICES`` is not what Cloud Foundry writes, or the bound service is unusable."""


def database_url(vcap_services: str, service_name: str | None = None) -> str | None:
    """A ``postgresql://`` URL for the bound PostgreSQL service, or None when none is bound."""
    try:
        services = json.loads(vcap_services)
    except json.JSONDecodeError as exc:
        raise VcapError(f"VCAP_SERVICES is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(services, dict):
        raise VcapError("VCAP_SERVICES must be a JSON object of service lists")
    instances = [
        (label, instance)
        for label, group in services.items()
        if isinstance(group, list)
        for instance in group
        if isinstance(instance, dict)
    ]
    if service_name is not None:
        named = [(label, i) for label, i in instances if i.get("name") == service_name]
        if not named:
            raise VcapError(f"no service named {service_name!r} is bound (VCAP_SERVICES)")
        return _url(named[0][1])
    for label, instance in instances:
        if _is_postgres(label, instance):
            return _url(instance)
    return None


def _is_postgres(label: str, instance: dict) -> bool:
    words = [label, instance.get("label", ""), *instance.get("tags", [])]
    if any(hint in str(word).lower() for word in words for hint in POSTGRES_HINTS):
        return True
    uri = str((instance.get("credentials") or {}).get("uri", ""))
    return uri.startswith(("postgres://", "postgresql://"))


def _url(instance: dict) -> str:
    credentials = instance.get("credentials") or {}
    name = instance.get("name", "?")
    uri = credentials.get("uri") or credentials.get("url")
    if uri:
        if not str(uri).startswith(("postgres://", "postgresql://")):
            raise VcapError(f"service {name!r}: credentials.uri is not a postgres:// URL")
        return str(uri)
    try:
        host, user = credentials["hostname"], credentials["username"]
        password, dbname = credentials["password"], credentials.get("dbname") or credentials["name"]
    except KeyError as exc:
        raise VcapError(
            f"service {name!r}: credentials have neither uri nor {exc.args[0]} "
            "(expected uri, or hostname/port/username/password/dbname)"
        ) from None
    port = credentials.get("port") or 5432
    params = {"sslmode": credentials["sslmode"]} if credentials.get("sslmode") else {}
    auth = f"{quote(str(user), safe='')}:{quote(str(password), safe='')}"
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{auth}@{host}:{port}/{quote(str(dbname), safe='')}{query}"
