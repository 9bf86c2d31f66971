"""Settings: defaults, every variable from the environment and from a ``.env`` file,
and configuration errors that name the setting and never show a secret."""

from __future__ import annotations

import traceback
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.demo import demo_settings
from bot.settings import (
    ConfigError,
    GatewaySettings,
    Settings,
    SmskaSettings,
    SmsrentSettings,
    load_settings,
)
from bot.standin import FakeBotApi
from providers import smska, smsrent
from tests.core.conftest import SETTING_ENV_NAMES

SKEY = "rent-secret-XYZ123"
PASSWORD = "ska-password-QWE789"
TOKEN = "123456:telegram-token-ABCdef"

#: a complete, valid configuration of both gateways and the bot
BASE_ENV: dict[str, str] = {
    "SMSRENT_PROJECT_ID": "1234",
    "SMSRENT_SECRET_KEY": SKEY,
    "SMSRENT_SENDER": "RentSender",
    "SMSKA_API_KEY": "ska-login",
    "SMSKA_API_PASSWORD": PASSWORD,
    "SMSKA_SENDER": "SkaSender",
}

#: (variable, value as written, attribute, expected value) for every setting; a
#: gateway's settings are nested (``settings.smsrent.url``), their variables are not
CASES: list[tuple[str, str, str, Any]] = [
    ("BOT_TOKEN", TOKEN, "bot_token", SecretStr(TOKEN)),
    ("TELEGRAM_API_URL", "http://127.0.0.1:8081", "telegram_api_url", "http://127.0.0.1:8081"),
    ("ADMIN_IDS", "1, 2,3", "admin_ids", [1, 2, 3]),
    ("SEND_CONFIRMATION", "false", "send_confirmation", False),
    ("PREVIEW_TTL_SECONDS", "120", "preview_ttl_seconds", 120),
    (
        "SMSRENT_URL",
        "https://rent.example/send.php",
        "smsrent.url",
        "https://rent.example/send.php",
    ),
    ("SMSRENT_PROJECT_ID", "4321", "smsrent.project_id", 4321),
    ("SMSRENT_SECRET_KEY", "another-skey", "smsrent.secret_key", SecretStr("another-skey")),
    ("SMSRENT_SENDER", "Alerts", "smsrent.sender", "Alerts"),
    ("SMSRENT_ENCODING", "WINDOWS-1251", "smsrent.encoding", "WINDOWS-1251"),
    (
        "SMSKA_URL",
        "https://ska.example/api/httppostapi2.php",
        "smska.url",
        "https://ska.example/api/httppostapi2.php",
    ),
    ("SMSKA_API_KEY", "other-login", "smska.api_key", "other-login"),
    ("SMSKA_API_PASSWORD", "other-password", "smska.api_password", SecretStr("other-password")),
    ("SMSKA_SENDER", "79001234567", "smska.sender", "79001234567"),
    ("DEFAULT_GATEWAY", "smska", "default_gateway", "smska"),
    ("DEFAULT_PROVIDER", "smska", "default_provider", "smska"),
    ("FAILOVER", "smska, sandbox", "failover", ["smska", "sandbox"]),
    ("ALLOWED_COUNTRIES", "ru, kz;BY", "allowed_countries", ["RU", "KZ", "BY"]),
    ("SANDBOX_DELIVERY_SECONDS", "1.5", "sandbox_delivery_seconds", 1.5),
    ("HTTP_CONNECT_TIMEOUT", "2.5", "http_connect_timeout", 2.5),
    ("HTTP_READ_TIMEOUT", "7", "http_read_timeout", 7.0),
    ("SMSRENT_CONCURRENCY", "3", "smsrent.concurrency", 3),
    ("SMSKA_CONCURRENCY", "25", "smska.concurrency", 25),
    ("SMSRENT_RATE", "2.5", "smsrent.rate", 2.5),
    ("SMSKA_RATE", "10", "smska.rate", 10.0),
    ("SENDS_PER_MINUTE", "9", "sends_per_minute", 9),
    ("SENDS_PER_DAY", "99", "sends_per_day", 99),
    ("STATUS_POLL_FIRST_SECONDS", "3", "status_poll_first_seconds", 3.0),
    ("STATUS_POLL_MAX_SECONDS", "60", "status_poll_max_seconds", 60.0),
    ("STATUS_MAX_AGE_HOURS", "12", "status_max_age_hours", 12.0),
    (
        "DATABASE_PATH",
        "/var/lib/smsbot/db.sqlite3",
        "database_path",
        Path("/var/lib/smsbot/db.sqlite3"),
    ),
    ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("SHUTDOWN_GRACE_SECONDS", "4", "shutdown_grace_seconds", 4.0),
    ("MAX_RECIPIENTS", "500", "max_recipients", 500),
    ("BULK_CONFIRM_OVER", "20", "bulk_confirm_over", 20),
    ("HTTP_HOST", "::1", "http_host", "::1"),
    ("HTTP_PORT", "8080", "http_port", 8080),
    ("ALERT_TEMPLATE", "{status}: {summary}", "alert_template", "{status}: {summary}"),
    ("ALERT_MAX_PARTS", "3", "alert_max_parts", 3),
    ("WEBHOOK_URL", "https://bot.example/tg", "webhook_url", "https://bot.example/tg"),
    ("WEBHOOK_SECRET", "A" * 16 + "_-9", "webhook_secret", SecretStr("A" * 16 + "_-9")),
    ("LOG_FORMAT", " JSON ", "log_format", "json"),
    ("API_SENDS_PER_MINUTE", "7", "api_sends_per_minute", 7),
    ("API_SENDS_PER_DAY", "70", "api_sends_per_day", 70),
    ("PROGRESS_EDIT_SECONDS", "1.5", "progress_edit_seconds", 1.5),
]
#: what a setting is valid only with (webhook mode needs all three)
COMPANIONS: dict[str, dict[str, str]] = {
    "WEBHOOK_URL": {"WEBHOOK_SECRET": "B" * 20, "HTTP_PORT": "8443"},
    "WEBHOOK_SECRET": {"WEBHOOK_URL": "https://bot.example/tg", "HTTP_PORT": "8443"},
}


def _value(settings: Settings, attribute: str) -> Any:
    value = attrgetter(attribute)(settings)
    if isinstance(value, SecretStr):
        return ("secret", value.get_secret_value())
    return value


def _expected(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return ("secret", value.get_secret_value())
    return value


def _write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def _config_error(**overrides: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **overrides)
    return str(info.value)


def _env_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ConfigError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    return info.value


# ------------------------------------------------------------------ defaults


def test_defaults_are_sandbox_only() -> None:
    settings = load_settings(_env_file=None)
    assert settings.enabled_providers == ["sandbox"]
    assert settings.default_provider is None
    assert settings.effective_default_provider == "sandbox"
    assert settings.failover == []
    assert settings.smsrent_config is None
    assert settings.smska_config is None
    assert settings.database_path == Path("data/smsbot.sqlite3")
    assert settings.smsrent_url == "http://smsrent.ru/smsgateway/send.php" == smsrent.DEFAULT_URL
    assert settings.smska_url == "http://my2.smska.net/api/httppost.php" == smska.DEFAULT_URL
    assert settings.smsrent_encoding == "UTF-8"
    assert settings.admin_ids == []
    assert settings.bot_token is None
    assert settings.secret_values() == []
    assert settings.allowed_regions == frozenset()  # every country


def test_defaults_read_dot_env_of_the_working_directory(tmp_path: Path) -> None:
    # clean_env made tmp_path the working directory: a plain load_settings() reads its .env
    _write_env_file(tmp_path / ".env", {"DEFAULT_PROVIDER": "sandbox", "ADMIN_IDS": "7"})
    settings = load_settings()
    assert settings.admin_ids == [7]


def test_every_setting_has_a_case() -> None:
    assert sorted(name for name, *_ in CASES) == sorted(SETTING_ENV_NAMES)


# ------------------------------------------------------- each variable, two sources


@pytest.mark.parametrize(
    ("env_name", "raw", "attribute", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_setting_read_from_environment(
    monkeypatch: pytest.MonkeyPatch, env_name: str, raw: str, attribute: str, expected: Any
) -> None:
    for name, value in {**BASE_ENV, **COMPANIONS.get(env_name, {}), env_name: raw}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert _value(settings, attribute) == _expected(expected)


@pytest.mark.parametrize(
    ("env_name", "raw", "attribute", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_setting_read_from_env_file(
    tmp_path: Path, env_name: str, raw: str, attribute: str, expected: Any
) -> None:
    values = {**BASE_ENV, **COMPANIONS.get(env_name, {}), env_name: raw}
    env_file = _write_env_file(tmp_path / "custom.env", values)
    settings = load_settings(_env_file=env_file)
    assert _value(settings, attribute) == _expected(expected)


@pytest.mark.parametrize(
    ("env_name", "raw", "attribute", "expected"),
    [c for c in CASES if "." in c[2]],
    ids=[c[0] for c in CASES if "." in c[2]],
)
def test_gateway_settings_are_nested_and_keep_their_old_names(
    monkeypatch: pytest.MonkeyPatch, env_name: str, raw: str, attribute: str, expected: Any
) -> None:
    for name, value in {**BASE_ENV, env_name: raw}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    gateway, field = attribute.split(".")
    assert isinstance(getattr(settings, gateway), GatewaySettings)
    assert getattr(settings, gateway).env_name(field) == env_name
    # the flat name of before, read-only, for the code that still uses it
    assert _value(settings, f"{gateway}_{field}") == _expected(expected)


def test_each_gateway_is_one_settings_class(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**BASE_ENV, "SMSRENT_CONCURRENCY": "3", "SMSKA_CONCURRENCY": "4"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert [type(g) for g in settings.gateways] == [SmsrentSettings, SmskaSettings]
    assert [(g.name, g.enabled) for g in settings.gateways] == [("smsrent", True), ("smska", True)]
    assert settings.send_concurrency == {"smsrent": 3, "smska": 4}
    assert settings.http_pool_size == 3 + 4 + 10
    assert settings.smsrent_config == settings.smsrent.config()
    assert settings.smska_config == settings.smska.config()


def test_keyword_arguments_by_their_flat_names_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {**BASE_ENV, "SMSRENT_CONCURRENCY": "3"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        _env_file=None,
        smsrent_concurrency=7,
        smska_api_key=None,
        smska_api_password=None,
        smska_sender=None,
    )
    assert settings.smsrent.concurrency == 7
    assert settings.smsrent.project_id == 1234  # the rest still from the environment
    assert settings.enabled_providers == ["smsrent"]
    nested = load_settings(_env_file=None, smsrent={"concurrency": 8})
    assert (nested.smsrent.concurrency, nested.smsrent.project_id) == (8, 1234)


@pytest.mark.parametrize("bare", ["", "oops", '{"url": "ftp://x"}'])
def test_a_variable_named_as_a_gateway_alone_is_not_a_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bare: str
) -> None:
    monkeypatch.setenv("SMSRENT", bare)
    monkeypatch.setenv("SMSRENT_CONCURRENCY", "4")
    env_file = _write_env_file(tmp_path / "custom.env", {**BASE_ENV, "SMSKA": bare})
    settings = load_settings(_env_file=env_file)
    assert settings.smsrent.concurrency == 4
    assert settings.smsrent.url == smsrent.DEFAULT_URL
    assert settings.enabled_providers == ["smsrent", "smska"]


def test_environment_wins_over_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = _write_env_file(tmp_path / "custom.env", {**BASE_ENV, "SENDS_PER_DAY": "11"})
    monkeypatch.setenv("SENDS_PER_DAY", "22")
    assert load_settings(_env_file=env_file).sends_per_day == 22


def test_lowercase_names_are_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("default_provider", "SANDBOX")
    assert load_settings(_env_file=None).default_provider == "sandbox"


def test_full_configuration_builds_both_gateway_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.enabled_providers == ["smsrent", "smska"]
    assert settings.effective_default_provider == "smsrent"
    rent, ska = settings.smsrent_config, settings.smska_config
    assert rent is not None
    assert ska is not None
    assert (rent.project_id, rent.secret_key.get_secret_value(), rent.sender) == (
        1234,
        SKEY,
        "RentSender",
    )
    assert (ska.api_key, ska.api_password.get_secret_value(), ska.sender) == (
        "ska-login",
        PASSWORD,
        "SkaSender",
    )
    assert sorted(settings.secret_values()) == sorted([SKEY, PASSWORD])


def test_sandbox_is_added_when_chosen_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAILOVER", "sandbox")
    assert load_settings(_env_file=None).enabled_providers == ["smsrent", "smska", "sandbox"]


# ------------------------------------------------------------ lists and aliases


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1, 2,3", [1, 2, 3]),
        ("42", [42]),
        (" 5 ; 6 ", [5, 6]),
        ("", []),
    ],
)
def test_admin_ids(monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[int]) -> None:
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert load_settings(_env_file=None).admin_ids == expected


def test_admin_ids_not_numbers_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    error = _env_error(monkeypatch, {"ADMIN_IDS": "1, bob"})
    assert "ADMIN_IDS" in str(error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cp1251", "WINDOWS-1251"),
        ("CP1251", "WINDOWS-1251"),
        ("windows_1251", "WINDOWS-1251"),
        ("windows-1251", "WINDOWS-1251"),
        ("utf8", "UTF-8"),
        ("utf-8", "UTF-8"),
    ],
)
def test_smsrent_encoding_aliases(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str) -> None:
    for name, value in {**BASE_ENV, "SMSRENT_ENCODING": raw}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.smsrent_encoding == expected
    assert settings.smsrent_config is not None
    assert settings.smsrent_config.encoding == expected


def test_unknown_smsrent_encoding_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    error = _env_error(monkeypatch, {**BASE_ENV, "SMSRENT_ENCODING": "koi8-r"})
    assert "SMSRENT_ENCODING" in str(error)


# ------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("env", "missing", "present"),
    [
        ({"SMSRENT_PROJECT_ID": "1"}, ["SMSRENT_SECRET_KEY", "SMSRENT_SENDER"], []),
        (
            {"SMSRENT_PROJECT_ID": "1", "SMSRENT_SECRET_KEY": SKEY},
            ["SMSRENT_SENDER"],
            ["SMSRENT_PROJECT_ID", "SMSRENT_SECRET_KEY"],
        ),
        ({"SMSRENT_SECRET_KEY": SKEY, "SMSRENT_SENDER": "Alerts"}, ["SMSRENT_PROJECT_ID"], []),
        ({"SMSKA_API_KEY": "login"}, ["SMSKA_API_PASSWORD", "SMSKA_SENDER"], []),
        (
            {"SMSKA_API_KEY": "login", "SMSKA_API_PASSWORD": PASSWORD},
            ["SMSKA_SENDER"],
            ["SMSKA_API_KEY", "SMSKA_API_PASSWORD"],
        ),
        ({"SMSKA_API_PASSWORD": PASSWORD, "SMSKA_SENDER": "Alerts"}, ["SMSKA_API_KEY"], []),
        # a blank value counts as unset
        ({**BASE_ENV, "SMSKA_API_PASSWORD": "   "}, ["SMSKA_API_PASSWORD"], []),
    ],
)
def test_partial_credentials_name_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: list[str], present: list[str]
) -> None:
    error = _env_error(monkeypatch, env)
    text = str(error)
    for name in missing:
        assert name in text
    assert SKEY not in text
    assert PASSWORD not in text


@pytest.mark.parametrize("variable", ["SMSKA_SENDER", "SMSRENT_SENDER"])
@pytest.mark.parametrize(
    "sender", ["TooLongSender", "Отправитель", "Bad!Sender", "1234567890123456"]
)
def test_invalid_sender_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, sender: str
) -> None:
    error = _env_error(monkeypatch, {**BASE_ENV, variable: sender})
    text = str(error)
    assert text.startswith(f"Configuration error: {variable}: ")
    other = "SMSRENT_SENDER" if variable == "SMSKA_SENDER" else "SMSKA_SENDER"
    assert f"{other}:" not in text


@pytest.mark.parametrize("sender", ["ElevenChars", "Alerts", "79001234567", "A-B.C_D&E 1"])
def test_valid_senders_are_accepted(monkeypatch: pytest.MonkeyPatch, sender: str) -> None:
    for name, value in {**BASE_ENV, "SMSKA_SENDER": sender}.items():
        monkeypatch.setenv(name, value)
    assert load_settings(_env_file=None).smska_sender == sender


@pytest.mark.parametrize("provider", ["smsrent", "smska"])
def test_default_provider_not_configured(monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    error = _env_error(monkeypatch, {"DEFAULT_PROVIDER": provider})
    text = str(error)
    assert "DEFAULT_PROVIDER" in text
    assert provider in text


def test_default_provider_unknown_name(monkeypatch: pytest.MonkeyPatch) -> None:
    error = _env_error(monkeypatch, {"DEFAULT_PROVIDER": "twilio"})
    assert "DEFAULT_PROVIDER" in str(error)


@pytest.mark.parametrize(
    "env",
    [
        {"DEFAULT_GATEWAY": "smska"},
        {"DEFAULT_PROVIDER": "smska"},
        {"DEFAULT_GATEWAY": "SMSKA", "DEFAULT_PROVIDER": " smska "},
        {"DEFAULT_GATEWAY": "smska", "DEFAULT_PROVIDER": ""},
        {"DEFAULT_GATEWAY": " ", "DEFAULT_PROVIDER": "smska"},
    ],
)
def test_default_gateway_and_its_old_name_agree(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in {**BASE_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert (settings.default_gateway, settings.default_provider) == ("smska", "smska")
    assert settings.effective_default_provider == "smska"


def test_default_gateway_and_its_old_name_naming_different_gateways(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = str(
        _env_error(
            monkeypatch, {**BASE_ENV, "DEFAULT_GATEWAY": "smska", "DEFAULT_PROVIDER": "smsrent"}
        )
    )
    assert text == (
        "Configuration error: DEFAULT_GATEWAY is smska but DEFAULT_PROVIDER (its old name) is "
        "smsrent: set only DEFAULT_GATEWAY"
    )
    # the same when one comes from the environment and the other from a .env file
    monkeypatch.delenv("DEFAULT_PROVIDER")
    env_file = _write_env_file(tmp_path / "custom.env", {"DEFAULT_PROVIDER": "smsrent"})
    with pytest.raises(ConfigError, match="DEFAULT_PROVIDER"):
        load_settings(_env_file=env_file)


def test_default_gateway_not_configured_or_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    text = str(_env_error(monkeypatch, {"DEFAULT_GATEWAY": "smska"}))
    assert "DEFAULT_GATEWAY" in text
    assert "smska" in text
    monkeypatch.setenv("DEFAULT_GATEWAY", "twilio")
    text = str(_env_error(monkeypatch, {}))
    assert text.startswith("Configuration error: DEFAULT_GATEWAY: ")
    assert "DEFAULT_PROVIDER" not in text


@pytest.mark.parametrize("variable", ["DEFAULT_GATEWAY", "DEFAULT_PROVIDER"])
def test_the_demo_uses_the_sandbox_whatever_the_default_gateway_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    for name, value in {**BASE_ENV, variable: "smska"}.items():
        monkeypatch.setenv(name, value)
    settings = demo_settings(FakeBotApi(), 111, tmp_path / "demo.sqlite3")
    assert settings.enabled_providers == ["sandbox"]
    assert settings.effective_default_provider == "sandbox"


def test_failover_naming_an_unconfigured_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k.startswith("SMSRENT")}
    error = _env_error(monkeypatch, {**env, "FAILOVER": "smska"})
    assert "FAILOVER" in str(error)
    assert "smska" in str(error)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMSRENT_URL": "smsrent.ru/send.php"}, "SMSRENT_URL"),
        ({"SMSKA_URL": "ftp://my2.smska.net"}, "SMSKA_URL"),
        ({"SMSRENT_PROJECT_ID": "12ab"}, "SMSRENT_PROJECT_ID"),
        ({"HTTP_READ_TIMEOUT": "0"}, "HTTP_READ_TIMEOUT"),
        ({"PREVIEW_TTL_SECONDS": "1"}, "PREVIEW_TTL_SECONDS"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"SENDS_PER_DAY": "-1"}, "SENDS_PER_DAY"),
        ({"ALLOWED_COUNTRIES": "RU,XX"}, "ALLOWED_COUNTRIES"),
        ({"ALLOWED_COUNTRIES": "Russia"}, "ALLOWED_COUNTRIES"),
        ({"SMSRENT_CONCURRENCY": "0"}, "SMSRENT_CONCURRENCY"),
        ({"SMSKA_CONCURRENCY": "many"}, "SMSKA_CONCURRENCY"),
        ({"SMSKA_URL": "my2.smska.net/api"}, "SMSKA_URL"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    error = _env_error(monkeypatch, {**BASE_ENV, **env})
    assert str(error).startswith(f"Configuration error: {variable}")


# ------------------------------------------------------------------------ secrets


def test_secrets_are_secret_str(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**BASE_ENV, "BOT_TOKEN": TOKEN}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert isinstance(settings.bot_token, SecretStr)
    assert isinstance(settings.smsrent_secret_key, SecretStr)
    assert isinstance(settings.smska_api_password, SecretStr)
    assert isinstance(settings.smsrent.secret_key, SecretStr)
    assert isinstance(settings.smska.api_password, SecretStr)
    shown = (
        repr(settings)
        + str(settings)
        + repr(settings.smsrent_config)
        + repr(settings.smska_config)
        + repr(settings.smsrent)
        + repr(settings.smska)
        + str(settings.model_dump())
    )
    for secret in (SKEY, PASSWORD, TOKEN):
        assert secret not in shown


def _all_text(error: BaseException) -> str:
    """Everything a person could see of an error: str, repr and the full traceback
    (the chained context included)."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error, chain=True)])


@pytest.mark.parametrize(
    "env",
    [
        # a secret-bearing group that is incomplete
        {"SMSRENT_SECRET_KEY": SKEY},
        {"SMSKA_API_PASSWORD": PASSWORD},
        {"BOT_TOKEN": TOKEN, "SMSRENT_SECRET_KEY": SKEY, "SMSRENT_PROJECT_ID": "x"},
        # secrets pasted into the wrong, validated setting
        {**BASE_ENV, "SMSRENT_PROJECT_ID": SKEY},
        {**BASE_ENV, "SMSRENT_ENCODING": SKEY},
        {**BASE_ENV, "DEFAULT_PROVIDER": PASSWORD},
        {**BASE_ENV, "DEFAULT_GATEWAY": PASSWORD},
        {**BASE_ENV, "DEFAULT_GATEWAY": "smska", "DEFAULT_PROVIDER": PASSWORD},
        {**BASE_ENV, "FAILOVER": f"smska,{PASSWORD}"},
        {**BASE_ENV, "ADMIN_IDS": f"1,{TOKEN}"},
        {**BASE_ENV, "SMSKA_URL": f"ftp://login:{PASSWORD}@my2.smska.net/api"},
        {**BASE_ENV, "LOG_LEVEL": SKEY},
    ],
    ids=lambda env: ",".join(sorted(set(env) - set(BASE_ENV)) or sorted(env)),
)
def test_config_error_never_contains_a_secret(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    error = _env_error(monkeypatch, env)
    text = _all_text(error)
    for secret in (SKEY, PASSWORD, TOKEN):
        assert secret not in text


@pytest.mark.parametrize(
    "overrides",
    [
        {"smsrent_secret_key": 12345678},  # wrong type for a secret
        {"smska_api_password": ["not", "a", "string"], "smska_api_key": "k", "smska_sender": "S"},
        {"bot_token": {"token": TOKEN}},
    ],
)
def test_config_error_for_an_invalid_secret_itself(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **overrides)
    text = _all_text(info.value)
    assert TOKEN not in text
    assert "12345678" not in text
    assert "'not', 'a'" not in text
