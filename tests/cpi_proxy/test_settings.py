"""The CPI proxy's settings: read once from SMSBOUNCE_CPI_*; every failure names the variable."""

from __future__ import annotations

import pytest

from smsbounce.cpi_proxy.settings import DEFAULT_ROLE, Settings, SettingsError

BASE = {
    "SMSBOUNCE_CPI_BUFFER_URL": "http://127.0.0.1:8080/",
    "SMSBOUNCE_CPI_BUFFER_PASSWORD": "buffer-pass",
    "SMSBOUNCE_CPI_PROVIDER_URL": "http://127.0.0.1:8090/cmn/acc/acc.sms",
}


def test_defaults():
    settings = Settings.from_env(BASE)
    assert settings.buffer_url == "http://127.0.0.1:8080"
    assert settings.buffer_status_url == "http://127.0.0.1:8080/api/v1/notifications/get"
    assert settings.ack_reply_address == "http://127.0.0.1:8080/api/v1/notifications/set"
    assert settings.buffer_user == "marketing"
    assert (settings.provider_user, settings.provider_password) == (None, None)
    (user,) = settings.users
    assert user.name == "marketing" and user.roles == {DEFAULT_ROLE}
    assert settings.password_generated and len(user.password) >= 20
    assert settings.role == "ESBMessaging.send"
    assert settings.timeout == (10.0, 60.0)
    assert settings.status_path == "/http/hybris_sms/status"
    assert settings.send_path == "/http/hybris_sms/sms"
    assert (settings.host, settings.port, settings.sender, settings.ca_bundle) == (
        "127.0.0.1",
        8081,
        None,
        None,
    )


def test_every_variable(tmp_path):
    bundle = tmp_path / "keystore.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(bundle))
    settings = Settings.from_env(
        {
            **BASE,
            "SMSBOUNCE_CPI_USER": "sapmc",
            "SMSBOUNCE_CPI_PASSWORD": "pw",
            "SMSBOUNCE_CPI_USER_ROLES": "ESBMessaging.send, Other",
            "SMSBOUNCE_CPI_ROLE": "Other",
            "SMSBOUNCE_CPI_BUFFER_USER": "cpi",
            "SMSBOUNCE_CPI_PROVIDER_USER": "acc",
            "SMSBOUNCE_CPI_PROVIDER_PASSWORD": "di",
            "SMSBOUNCE_CPI_INGEST_URL": "https://b.example/api/v1/notifications/set/tok",
            "SMSBOUNCE_CPI_CA_BUNDLE": str(bundle),
            "SMSBOUNCE_CPI_TIMEOUT": "3, 30",
            "SMSBOUNCE_CPI_STATUS_PATH": "/http/sapmc_sms/status",
            "SMSBOUNCE_CPI_SEND_PATH": "/http/sapmc_sms/send",
            "SMSBOUNCE_CPI_SENDER": "BRAND",
            "SMSBOUNCE_CPI_SEND_CONCURRENCY": "2",
            "SMSBOUNCE_CPI_HOST": "0.0.0.0",
            "SMSBOUNCE_CPI_PORT": "0",
            "SMSBOUNCE_CPI_WORKERS": "3",
            "SMSBOUNCE_CPI_THREADS": "4",
        }
    )
    (user,) = settings.users
    assert (user.name, user.password, user.roles) == ("sapmc", "pw", {"ESBMessaging.send", "Other"})
    assert not settings.password_generated
    assert settings.role == "Other"
    assert (settings.provider_user, settings.provider_password) == ("acc", "di")
    assert settings.ack_reply_address == "https://b.example/api/v1/notifications/set/tok"
    assert settings.ca_bundle == str(bundle)
    assert settings.timeout == (3.0, 30.0)
    assert (settings.status_path, settings.send_path) == (
        "/http/sapmc_sms/status",
        "/http/sapmc_sms/send",
    )
    assert (settings.sender, settings.send_concurrency) == ("BRAND", 2)
    assert (settings.host, settings.port, settings.workers, settings.threads) == (
        "0.0.0.0",
        0,
        3,
        4,
    )
    settings.ssl_context()


def test_a_single_timeout_applies_to_connect_and_read():
    assert Settings.from_env({**BASE, "SMSBOUNCE_CPI_TIMEOUT": "5"}).timeout == (5.0, 5.0)


def test_empty_user_roles_mean_no_roles():
    (user,) = Settings.from_env({**BASE, "SMSBOUNCE_CPI_USER_ROLES": ""}).users
    assert user.roles == frozenset()


def test_secrets_stay_out_of_the_repr():
    settings = Settings.from_env(
        {
            **BASE,
            "SMSBOUNCE_CPI_PASSWORD": "inbound-secret",
            "SMSBOUNCE_CPI_PROVIDER_USER": "acc",
            "SMSBOUNCE_CPI_PROVIDER_PASSWORD": "provider-secret",
            "SMSBOUNCE_CPI_INGEST_URL": "http://b.example/set/the-ingest-token",
        }
    )
    for secret in ("inbound-secret", "provider-secret", "buffer-pass", "the-ingest-token"):
        assert secret not in repr(settings)


@pytest.mark.parametrize(
    "changes, variable",
    [
        ({"SMSBOUNCE_CPI_BUFFER_URL": ""}, "SMSBOUNCE_CPI_BUFFER_URL"),
        ({"SMSBOUNCE_CPI_BUFFER_URL": "ftp://x"}, "SMSBOUNCE_CPI_BUFFER_URL"),
        ({"SMSBOUNCE_CPI_BUFFER_URL": "http://u:p@host"}, "SMSBOUNCE_CPI_BUFFER_URL"),
        ({"SMSBOUNCE_CPI_BUFFER_URL": "http://host:port"}, "SMSBOUNCE_CPI_BUFFER_URL"),
        ({"SMSBOUNCE_CPI_BUFFER_PASSWORD": ""}, "SMSBOUNCE_CPI_BUFFER_PASSWORD"),
        ({"SMSBOUNCE_CPI_PROVIDER_URL": ""}, "SMSBOUNCE_CPI_PROVIDER_URL"),
        ({"SMSBOUNCE_CPI_PROVIDER_URL": "/cmn/acc/acc.sms"}, "SMSBOUNCE_CPI_PROVIDER_URL"),
        ({"SMSBOUNCE_CPI_PROVIDER_USER": "acc"}, "SMSBOUNCE_CPI_PROVIDER_PASSWORD"),
        ({"SMSBOUNCE_CPI_PROVIDER_PASSWORD": "pw"}, "SMSBOUNCE_CPI_PROVIDER_USER"),
        ({"SMSBOUNCE_CPI_INGEST_URL": "buffer/set"}, "SMSBOUNCE_CPI_INGEST_URL"),
        ({"SMSBOUNCE_CPI_INGEST_URL": "http://b/set#x"}, "SMSBOUNCE_CPI_INGEST_URL"),
        ({"SMSBOUNCE_CPI_CA_BUNDLE": "/no/such/file.pem"}, "SMSBOUNCE_CPI_CA_BUNDLE"),
        ({"SMSBOUNCE_CPI_TIMEOUT": "fast"}, "SMSBOUNCE_CPI_TIMEOUT"),
        ({"SMSBOUNCE_CPI_TIMEOUT": "0"}, "SMSBOUNCE_CPI_TIMEOUT"),
        ({"SMSBOUNCE_CPI_TIMEOUT": "1,2,3"}, "SMSBOUNCE_CPI_TIMEOUT"),
        ({"SMSBOUNCE_CPI_SEND_PATH": "http/x"}, "SMSBOUNCE_CPI_SEND_PATH"),
        ({"SMSBOUNCE_CPI_SEND_PATH": "/http/x/"}, "SMSBOUNCE_CPI_SEND_PATH"),
        ({"SMSBOUNCE_CPI_STATUS_PATH": "/http/a b"}, "SMSBOUNCE_CPI_STATUS_PATH"),
        ({"SMSBOUNCE_CPI_SEND_PATH": "/http/hybris_sms/status"}, "SMSBOUNCE_CPI_SEND_PATH"),
        ({"SMSBOUNCE_CPI_SENDER": "A" * 17}, "SMSBOUNCE_CPI_SENDER"),
        ({"SMSBOUNCE_CPI_PORT": "99999"}, "SMSBOUNCE_CPI_PORT"),
        ({"SMSBOUNCE_CPI_SEND_CONCURRENCY": "many"}, "SMSBOUNCE_CPI_SEND_CONCURRENCY"),
    ],
    ids=lambda value: next(iter(value.values())) if isinstance(value, dict) else None,
)
def test_bad_values_name_the_variable(changes, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**BASE, **changes})


def test_a_ca_bundle_that_is_not_pem_is_refused(tmp_path):
    bundle = tmp_path / "keystore.pem"
    bundle.write_text("not a certificate")
    with pytest.raises(SettingsError, match="SMSBOUNCE_CPI_CA_BUNDLE"):
        Settings.from_env({**BASE, "SMSBOUNCE_CPI_CA_BUNDLE": str(bundle)})
