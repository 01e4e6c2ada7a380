"""Settings.from_env: defaults, every variable, and a sentence naming each bad one."""

import json

import pytest

from smsbounce.buffer.reports import Outcome
from smsbounce.buffer.settings import Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///smsbounce.db"
    assert (settings.page_size, settings.settle_lag, settings.port) == (100, 30.0, 8080)
    assert settings.password_generated and len(settings.api_password) >= 20
    assert settings.ingest_tokens == () and settings.enable_clear is False
    assert settings.status_table.classify("0xDBF3") is Outcome.TEMPORARY


def test_database_url_falls_back_to_database_url():
    assert (
        Settings.from_env({"DATABASE_URL": "postgresql://h/db"}).database_url == "postgresql://h/db"
    )
    both = {"DATABASE_URL": "postgresql://h/db", "SMSBOUNCE_DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env(both).database_url == "sqlite:///x.db"


def test_every_variable_is_read():
    settings = Settings.from_env(
        {
            "SMSBOUNCE_API_USER": "mkt",
            "SMSBOUNCE_API_PASSWORD": "pw",
            "SMSBOUNCE_INGEST_TOKENS": " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb-2 ",
            "SMSBOUNCE_ENABLE_CLEAR": "yes",
            "SMSBOUNCE_ENVIRONMENT": "test",
            "SMSBOUNCE_PAGE_SIZE": "50",
            "SMSBOUNCE_MAX_WINDOW_DAYS": "7",
            "SMSBOUNCE_SETTLE_LAG": "12.5",
            "SMSBOUNCE_DB_TIMEOUT": "2",
            "SMSBOUNCE_PROVIDER_TIMEZONE": "Europe/Berlin",
            "SMSBOUNCE_HOST": "0.0.0.0",
            "PORT": "9000",
            "SMSBOUNCE_WORKERS": "3",
            "SMSBOUNCE_THREADS": "4",
            "SMSBOUNCE_DB_POOL_SIZE": "3",
        }
    )
    assert (settings.api_user, settings.api_password, settings.password_generated) == (
        "mkt",
        "pw",
        False,
    )
    assert settings.ingest_tokens == ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb-2")
    assert (settings.enable_clear, settings.environment) == (True, "test")
    assert (settings.page_size, settings.max_window_days) == (50, 7)
    assert (settings.settle_lag, settings.db_timeout) == (12.5, 2.0)
    assert settings.provider_timezone == "Europe/Berlin"
    assert (settings.host, settings.port, settings.workers, settings.threads) == (
        "0.0.0.0",
        9000,
        3,
        4,
    )
    assert settings.pool_size == 3


def test_the_pool_holds_one_connection_per_thread_by_default():
    assert Settings.from_env({"SMSBOUNCE_THREADS": "12"}).pool_size == 12
    assert Settings.from_env({}).pool_size == Settings().threads == 8


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"SMSBOUNCE_PAGE_SIZE": "0"}, "SMSBOUNCE_PAGE_SIZE must be between 1 and 1000"),
        ({"SMSBOUNCE_PAGE_SIZE": "ten"}, "SMSBOUNCE_PAGE_SIZE must be a whole number"),
        ({"SMSBOUNCE_SETTLE_LAG": "soon"}, "SMSBOUNCE_SETTLE_LAG must be a number of seconds"),
        (
            {"SMSBOUNCE_SETTLE_LAG": "5"},
            "SMSBOUNCE_SETTLE_LAG (5 s) must be larger than SMSBOUNCE_DB_TIMEOUT",
        ),
        ({"SMSBOUNCE_ENABLE_CLEAR": "maybe"}, "SMSBOUNCE_ENABLE_CLEAR must be true or false"),
        ({"SMSBOUNCE_ENABLE_CLEAR": "1"}, "SMSBOUNCE_ENVIRONMENT is 'production'"),
        ({"SMSBOUNCE_ENVIRONMENT": "staging"}, "SMSBOUNCE_ENVIRONMENT must be one of"),
        (
            {"SMSBOUNCE_PROVIDER_TIMEZONE": "Mars/Olympus"},
            "SMSBOUNCE_PROVIDER_TIMEZONE must be an IANA",
        ),
        ({"SMSBOUNCE_INGEST_TOKENS": "short"}, "SMSBOUNCE_INGEST_TOKENS: every token"),
        ({"PORT": "70000"}, "PORT must be between 0 and 65535"),
        ({"SMSBOUNCE_DB_POOL_SIZE": "0"}, "SMSBOUNCE_DB_POOL_SIZE must be between 1 and 256"),
        ({"SMSBOUNCE_API_PASSWORD": "change-me"}, "SMSBOUNCE_API_PASSWORD is too weak"),
        ({"SMSBOUNCE_FORWARDED_HOPS": "-1"}, "SMSBOUNCE_FORWARDED_HOPS must be between 0"),
        ({"SMSBOUNCE_STATUS_TYPES": "/no/such/table.json"}, "SMSBOUNCE_STATUS_TYPES: cannot read"),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_bad_values_name_the_variable(env, sentence):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert sentence in str(caught.value)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{not json", "is not JSON (line 1"),
        (json.dumps({"default": "Permanent", "softly": []}), "'softly' was unexpected"),
        (json.dumps({"default": "Maybe"}), "'Maybe' is not one of"),
        (json.dumps({"default": "Permanent", "temporary": ["DBF3"]}), "does not match"),
        (
            json.dumps({"default": "Permanent", "temporary": ["0x0001"], "permanent": ["0x0001"]}),
            "code 0x0001 is listed under both temporary and permanent",
        ),
    ],
    ids=["not-json", "unknown-key", "bad-default", "bad-code", "impossible-mapping"],
)
def test_status_types_file_is_validated_at_start(tmp_path, document, problem):
    path = tmp_path / "codes.json"
    path.write_text(document)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SMSBOUNCE_STATUS_TYPES": str(path)})
    assert str(caught.value).startswith(f"SMSBOUNCE_STATUS_TYPES: {path}")
    assert problem in str(caught.value)


def test_a_custom_status_types_table_is_used(tmp_path):
    path = tmp_path / "codes.json"
    path.write_text(
        json.dumps({"default": "Temporary", "permanent": ["0x0007"], "success": ["0x0000"]})
    )
    table = Settings.from_env({"SMSBOUNCE_STATUS_TYPES": str(path)}).status_table
    assert [table.classify(c) for c in ("0x0007", "0x0000", "0x4503")] == [
        Outcome.PERMANENT,
        Outcome.DELIVERED,
        Outcome.TEMPORARY,
    ]


def test_any_password_is_accepted_outside_production_and_a_generated_one_everywhere():
    test = Settings.from_env({"SMSBOUNCE_API_PASSWORD": "pw", "SMSBOUNCE_ENVIRONMENT": "test"})
    assert test.api_password == "pw"
    generated = Settings.from_env({})
    assert generated.password_generated and len(generated.api_password) >= 16


@pytest.mark.parametrize(
    ("env", "hops"),
    [
        ({}, 0),
        ({"VCAP_APPLICATION": "{}"}, 1),
        ({"VCAP_APPLICATION": "{}", "SMSBOUNCE_FORWARDED_HOPS": "2"}, 2),
        ({"SMSBOUNCE_FORWARDED_HOPS": "1"}, 1),
    ],
    ids=["local", "cloud-foundry", "cf-behind-a-balancer", "behind-a-proxy"],
)
def test_forwarded_hops_default_to_the_cloud_foundry_router(env, hops):
    assert Settings.from_env(env).forwarded_hops == hops
