"""Settings, read from the environment and an optional ``.env`` file.

Nothing is read at import time: ``load_settings()`` is called by the entry points.
Secrets are ``SecretStr``; a configuration error names the setting, never a secret.
"""

from __future__ import annotations

import string
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from providers import smska, smsrent
from providers.smska import SmskaConfig
from providers.smsrent import SmsrentConfig, SmsrentEncoding
from services.alerts import (
    DEFAULT_ALERT_MAX_PARTS,
    DEFAULT_ALERT_TEMPLATE,
    InvalidTemplate,
    check_template,
)
from services.domain import InvalidSenderName, is_region_code, validate_sender

ProviderName = Literal["smsrent", "smska", "sandbox"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("smsrent", "smska", "sandbox")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(Exception):
    """A setting is missing or wrong. ``str()`` names the setting and what to do."""


#: Telegram user ids have at most 15 digits here (``services.users.parse_user_id``).
MAX_USER_ID = 10**15


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    if isinstance(value, int):
        return [value]
    return value


def _gateway_name(value: Any) -> Any:
    """A gateway name as the field check will see it (blank: unset)."""
    if isinstance(value, str):
        return value.strip().lower() or None
    return value


def url_problem(url: str, *, base_only: bool = False) -> str | None:
    """What is wrong with a server URL (to follow the setting's name), or ``None``.
    ``base_only``: a base that paths are appended to, so no query or fragment. The
    value itself is never echoed (it may carry a password)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    try:
        port = parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host name (e.g. https://example.com)"
    if port is not None and not 1 <= port <= 65535:
        return "has a port outside 1..65535"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    if base_only and (parts.query or parts.fragment or "?" in url or "#" in url):
        return "must be a base address without ? or # (e.g. http://127.0.0.1:8081)"
    return None


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


class GatewaySettings(BaseModel):
    """One gateway's settings, read from the variables named ``<NAME>_<FIELD>``
    (``SMSRENT_URL``, ``SMSKA_API_PASSWORD``...). A new gateway is one subclass (its
    name, credentials and adapter config) and one field of ``Settings`` named as it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: the gateway's name, which is also the prefix of its variables
    name: ClassVar[ProviderName]
    #: fields that enable the gateway once all are set (set only some: an error)
    required: ClassVar[tuple[str, ...]]
    #: fields holding secrets (SecretStr), for the log redaction filter
    secret_fields: ClassVar[tuple[str, ...]]

    url: str
    sender: str | None = None
    #: sends in flight at once; more wait in a queue (never a failure)
    concurrency: int = Field(default=10, ge=1, le=200)
    #: requests per second at most (None: as fast as the slots allow)
    rate: float | None = Field(default=None, gt=0, le=1000)

    @field_validator("sender", "rate", mode="before")
    @classmethod
    def _blank_sender(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @classmethod
    def env_name(cls, field: str) -> str:
        return f"{cls.name}_{field}".upper()

    @property
    def enabled(self) -> bool:
        return all(getattr(self, field) is not None for field in self.required)

    def problems(self) -> list[str]:
        """What is wrong, each naming its variable (never a value)."""
        problems: list[str] = []
        given = {self.env_name(f): getattr(self, f) is not None for f in self.required}
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(env for env, ok in given.items() if not ok)
            problems.append(f"{self.name} is partly configured: set {missing} as well")
        if self.sender is not None:
            try:
                validate_sender(self.sender)
            except InvalidSenderName as exc:
                problems.append(f"{self.env_name('sender')}: {exc}")
        if (problem := url_problem(self.url)) is not None:
            problems.append(f"{self.env_name('url')} {problem}")
        return problems

    def secrets(self) -> list[str]:
        values = [getattr(self, field) for field in self.secret_fields]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


class SmsrentSettings(GatewaySettings):
    """smsrent.ru: ``SMSRENT_URL``, ``_PROJECT_ID``, ``_SECRET_KEY``, ``_SENDER``,
    ``_ENCODING``, ``_CONCURRENCY``."""

    name: ClassVar[ProviderName] = "smsrent"
    required: ClassVar[tuple[str, ...]] = ("project_id", "secret_key", "sender")
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_key",)

    url: str = smsrent.DEFAULT_URL
    project_id: int | None = None
    secret_key: SecretStr | None = None
    encoding: SmsrentEncoding = "UTF-8"

    @field_validator("project_id", "secret_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("encoding", mode="before")
    @classmethod
    def _encoding(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper().replace("_", "-")
            return {"UTF8": "UTF-8", "CP1251": "WINDOWS-1251", "WINDOWS1251": "WINDOWS-1251"}.get(
                upper, upper
            )
        return value

    def config(self) -> SmsrentConfig | None:
        if self.project_id is None or self.secret_key is None or self.sender is None:
            return None
        return SmsrentConfig(
            project_id=self.project_id,
            secret_key=self.secret_key,
            sender=self.sender,
            url=self.url,
            encoding=self.encoding,
        )


class SmskaSettings(GatewaySettings):
    """smska.net: ``SMSKA_URL``, ``_API_KEY``, ``_API_PASSWORD``, ``_SENDER``,
    ``_CONCURRENCY``."""

    name: ClassVar[ProviderName] = "smska"
    required: ClassVar[tuple[str, ...]] = ("api_key", "api_password", "sender")
    secret_fields: ClassVar[tuple[str, ...]] = ("api_password",)

    url: str = smska.DEFAULT_URL
    api_key: str | None = None
    api_password: SecretStr | None = None

    @field_validator("api_key", "api_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _blank_is_none(value)

    def config(self) -> SmskaConfig | None:
        if self.api_key is None or self.api_password is None or self.sender is None:
            return None
        return SmskaConfig(
            api_key=self.api_key, api_password=self.api_password, sender=self.sender, url=self.url
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
        # SMSRENT_PROJECT_ID is ``smsrent.project_id``: only the first "_" nests, and
        # only for the gateway fields (the other names are read as they are)
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    # Telegram (the bot only; the command line needs none of these)
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    send_confirmation: bool = True
    preview_ttl_seconds: int = Field(default=600, ge=10)

    # the gateways, one field each, named as the gateway (SMSRENT_*, SMSKA_*)
    smsrent: SmsrentSettings = Field(default_factory=SmsrentSettings)
    smska: SmskaSettings = Field(default_factory=SmskaSettings)

    # sending
    #: the gateway a send goes through unless one is named; ``DEFAULT_PROVIDER`` is its
    #: old name, still accepted (both hold the same value once read)
    default_gateway: ProviderName | None = None
    default_provider: ProviderName | None = None
    failover: Annotated[list[ProviderName], NoDecode] = Field(default_factory=list)
    #: ISO region codes SMS may go to (e.g. RU,KZ,BY); empty: every country.
    allowed_countries: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sandbox_delivery_seconds: float = Field(default=5.0, ge=0)
    http_connect_timeout: float = Field(default=5.0, gt=0)
    http_read_timeout: float = Field(default=20.0, gt=0)

    # limits
    sends_per_minute: int = Field(default=5, ge=0)
    sends_per_day: int = Field(default=200, ge=0)

    # delivery tracking
    status_poll_first_seconds: float = Field(default=15.0, gt=0)
    status_poll_max_seconds: float = Field(default=600.0, gt=0)
    status_max_age_hours: float = Field(default=48.0, gt=0)

    # many recipients: the most one send (a list, a group, a file) may have
    max_recipients: int = Field(default=10_000, ge=1, le=100_000)
    # a send to more recipients than this always shows a preview to tap, even with
    # SEND_CONFIRMATION=false (0: every send from a list, a name or a file)
    bulk_confirm_over: int = Field(default=1, ge=0)

    # bulk jobs in the bot: the fewest seconds between two edits of a job's progress
    # message (Telegram allows about one message a second per chat, edits included)
    progress_edit_seconds: float = Field(default=3.0, ge=0.05, le=600)

    # the HTTP server (API, health, metrics, webhook): off unless HTTP_PORT is set
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1, le=65535)
    # the HTTP API: SMS per API token per minute and per day (0: no limit), unless
    # the token has its own
    api_sends_per_minute: int = Field(default=60, ge=0)
    api_sends_per_day: int = Field(default=1000, ge=0)

    # SMS from Alertmanager's webhook (services.alerts): the text's template (str.format
    # with the fields of services.alerts.TEMPLATE_FIELDS) and its most SMS parts
    alert_template: str = DEFAULT_ALERT_TEMPLATE
    alert_max_parts: int = Field(default=DEFAULT_ALERT_MAX_PARTS, ge=1, le=10)
    # operations: Telegram webhook mode (polling unless WEBHOOK_URL is set) and logs
    #: the public https URL Telegram posts updates to; its path is the route served
    webhook_url: str | None = None
    #: Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every update
    webhook_secret: SecretStr | None = None
    #: "text" (a line a person reads) or "json" (one JSON object a line)
    log_format: Literal["text", "json"] = "text"

    # storage and logs
    database_path: Path = Path("data/smsbot.sqlite3")
    log_level: LogLevel = "INFO"
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return (
            init_settings,
            _EnvSource(settings_cls),
            _DotEnvSource(
                settings_cls,
                env_file=dotenv_settings.env_file,
                env_file_encoding=dotenv_settings.env_file_encoding,
            ),
            file_secret_settings,
        )

    @model_validator(mode="before")
    @classmethod
    def _flat_gateway_names(cls, data: Any) -> Any:
        """``Settings(smsrent_url=...)``, the names before the gateways were nested, still
        work as keyword arguments; they win over the environment, as any argument does."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field, model in _gateway_fields().items():
            prefix = f"{field}_"
            flat = {
                key.lower().removeprefix(prefix): key
                for key in data
                if isinstance(key, str)
                and key.lower().startswith(prefix)
                and key.lower().removeprefix(prefix) in model.model_fields
            }
            if not flat:
                continue
            nested = data.get(field)
            if isinstance(nested, BaseModel):
                nested = dict(nested)
            nested = dict(nested) if isinstance(nested, dict) else {}
            for sub, key in flat.items():
                nested[sub] = data.pop(key)
            data[field] = nested
        return data

    @model_validator(mode="before")
    @classmethod
    def _old_gateway_name(cls, data: Any) -> Any:
        """``DEFAULT_PROVIDER`` is the old name of ``DEFAULT_GATEWAY``: either may be set,
        both only to the same gateway. A value that is not a gateway name is left to the
        field's own check (and never echoed: it may be a secret pasted in the wrong place)."""
        if not isinstance(data, dict):
            return data
        values = {
            key: _gateway_name(data.get(key)) for key in ("default_gateway", "default_provider")
        }
        new, old = values["default_gateway"], values["default_provider"]
        if new is not None and old is not None and new != old:
            if new in PROVIDER_NAMES and old in PROVIDER_NAMES:
                raise ValueError(
                    f"DEFAULT_GATEWAY is {new} but DEFAULT_PROVIDER (its old name) is {old}: "
                    "set only DEFAULT_GATEWAY"
                )
            return data
        chosen = new if new is not None else old
        if chosen is None or chosen not in PROVIDER_NAMES:
            return data
        return {**data, "default_gateway": chosen, "default_provider": chosen}

    @field_validator("admin_ids", "failover", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("admin_ids", mode="after")
    @classmethod
    def _telegram_ids(cls, value: list[int]) -> list[int]:
        # Telegram user ids are positive (negative ids are chats); SQLite keeps 64 bits.
        if any(not 0 < user_id < MAX_USER_ID for user_id in value):
            raise ValueError("each id must be a Telegram user id (a positive number)")
        return value

    @field_validator("allowed_countries", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> Any:
        codes = _split_list(value)
        if not isinstance(codes, list):
            return codes
        codes = [str(code).strip().upper() for code in codes]
        unknown = [code for code in codes if not is_region_code(code)]
        if unknown:
            raise ValueError(
                f"unknown country code {', '.join(unknown)[:60]}: use ISO codes such as RU,KZ,BY"
            )
        return codes

    @field_validator("default_gateway", "default_provider", "log_level", mode="before")
    @classmethod
    def _lower_or_upper(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None if info.field_name != "log_level" else value
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("alert_template", mode="after")
    @classmethod
    def _alert_template(cls, value: str) -> str:
        try:
            return check_template(value)
        except InvalidTemplate as exc:
            raise ValueError(f"the template {exc}") from None

    @field_validator("bot_token", "telegram_api_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("webhook_url", "webhook_secret", "http_port", mode="before")
    @classmethod
    def _blank_webhook(cls, value: Any) -> Any:
        # HTTP_PORT= (blank, as a compose file's ${HTTP_PORT:-} gives) is no server
        return _blank_is_none(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        return value.strip().lower() or "text" if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        problems = webhook_problems(self.webhook_url, self.webhook_secret, self.http_port)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _check_gateways(self) -> Settings:
        problems: list[str] = []
        for gateway in self.gateways:
            problems += gateway.problems()
        # aiogram builds "{base}/bot{token}/{method}": a query or fragment would
        # swallow the token and method.
        api_url = self.telegram_api_url
        if api_url is not None and (problem := url_problem(api_url, base_only=True)):
            problems.append(f"TELEGRAM_API_URL {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        enabled = self.enabled_providers
        if self.default_gateway is not None and self.default_gateway not in enabled:
            raise ValueError(
                f"DEFAULT_GATEWAY (or its old name DEFAULT_PROVIDER) is {self.default_gateway}, "
                f"but that gateway is not configured (enabled: {', '.join(enabled)})"
            )
        for name in self.failover:
            if name not in enabled:
                raise ValueError(f"FAILOVER names {name}, which is not configured")
        return self

    # -- derived -----------------------------------------------------------------

    @property
    def gateways(self) -> tuple[GatewaySettings, ...]:
        """Every real gateway's settings, configured or not, in a fixed order."""
        return tuple(getattr(self, field) for field in _gateway_fields())

    @property
    def smsrent_config(self) -> SmsrentConfig | None:
        return self.smsrent.config()

    @property
    def smska_config(self) -> SmskaConfig | None:
        return self.smska.config()

    @property
    def max_request_seconds(self) -> float:
        """The deadline of one gateway request, start to end (connect plus read
        time-outs; ``providers.http.post_form`` enforces it as one overall bound)."""
        return self.http_connect_timeout + self.http_read_timeout

    @property
    def stale_send_age(self) -> timedelta:
        """Always longer than any request may take, counted from the moment its row was
        marked ``sending``: a row still ``sending`` after this was interrupted."""
        return timedelta(seconds=self.max_request_seconds + 60)

    @property
    def send_concurrency(self) -> dict[str, int]:
        """Slots per gateway: sends beyond them wait in the send service's queue."""
        return {gateway.name: gateway.concurrency for gateway in self.gateways}

    @property
    def send_rates(self) -> dict[str, float]:
        """Requests per second per gateway, where a limit is set."""
        return {g.name: g.rate for g in self.gateways if g.rate is not None}

    @property
    def http_pool_size(self) -> int:
        """Every send slot, plus room for balance and status requests."""
        return sum(self.send_concurrency.values()) + 10

    @property
    def enabled_providers(self) -> list[ProviderName]:
        """Gateways with credentials, in a fixed order; the sandbox when there are
        none, or when it is chosen explicitly."""
        names: list[ProviderName] = [g.name for g in self.gateways if g.enabled]
        if not names or self.default_gateway == "sandbox" or "sandbox" in self.failover:
            names.append("sandbox")
        return names

    @property
    def allowed_regions(self) -> frozenset[str]:
        """``ALLOWED_COUNTRIES`` as a set of ISO codes; empty: every country."""
        return frozenset(self.allowed_countries)

    @property
    def effective_default_provider(self) -> ProviderName:
        return self.default_gateway or self.enabled_providers[0]

    def secret_values(self) -> list[str]:
        """Every secret's value, for the log redaction filter."""
        token = self.bot_token.get_secret_value() if self.bot_token is not None else ""
        secrets = [token] if token else []
        if self.webhook_secret is not None and self.webhook_secret.get_secret_value():
            secrets.append(self.webhook_secret.get_secret_value())
        for gateway in self.gateways:
            secrets += gateway.secrets()
        return secrets

    # -- the names before the gateways were nested (read-only) --------------------

    @property
    def smsrent_url(self) -> str:
        return self.smsrent.url

    @property
    def smsrent_project_id(self) -> int | None:
        return self.smsrent.project_id

    @property
    def smsrent_secret_key(self) -> SecretStr | None:
        return self.smsrent.secret_key

    @property
    def smsrent_sender(self) -> str | None:
        return self.smsrent.sender

    @property
    def smsrent_encoding(self) -> SmsrentEncoding:
        return self.smsrent.encoding

    @property
    def smsrent_concurrency(self) -> int:
        return self.smsrent.concurrency

    @property
    def smsrent_rate(self) -> float | None:
        return self.smsrent.rate

    @property
    def smska_url(self) -> str:
        return self.smska.url

    @property
    def smska_api_key(self) -> str | None:
        return self.smska.api_key

    @property
    def smska_api_password(self) -> SecretStr | None:
        return self.smska.api_password

    @property
    def smska_sender(self) -> str | None:
        return self.smska.sender

    @property
    def smska_concurrency(self) -> int:
        return self.smska.concurrency

    @property
    def smska_rate(self) -> float | None:
        return self.smska.rate


#: the characters Telegram allows in a webhook's secret token, and its length
WEBHOOK_SECRET_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
WEBHOOK_SECRET_LENGTH = (16, 256)
#: paths the process's HTTP server serves itself
RESERVED_PATHS = ("/", "/health", "/metrics")
#: the HTTP API's paths (``api.routes``): every one below it is the API's
RESERVED_PREFIX = "/api/"


def webhook_problems(url: str | None, secret: SecretStr | None, http_port: int | None) -> list[str]:
    """What is wrong with the webhook settings, each naming its variable (the
    secret's value is never echoed; the URL's only by its path)."""
    if url is None:
        return (
            [
                "WEBHOOK_SECRET is set but WEBHOOK_URL is not: set both (webhook mode) or "
                "neither (polling)"
            ]
            if secret is not None
            else []
        )
    problems: list[str] = []
    problem = url_problem(url)
    if problem is not None:
        problems.append(f"WEBHOOK_URL {problem}")
    else:
        parts = urlsplit(url)
        if parts.scheme != "https":
            problems.append("WEBHOOK_URL must start with https:// (Telegram posts only there)")
        if parts.username or parts.password:
            problems.append("WEBHOOK_URL must not carry a user name or password")
        if parts.fragment or "#" in url:
            problems.append("WEBHOOK_URL must not have a # part")
        path = parts.path or "/"
        if path in RESERVED_PATHS or path.startswith(RESERVED_PREFIX):
            problems.append(
                "WEBHOOK_URL needs a path of its own, e.g. https://bot.example.com/telegram "
                "(not / or /health or /metrics, nor one under /api/)"
            )
    if secret is None:
        problems.append(
            "WEBHOOK_SECRET is required with WEBHOOK_URL: 16 to 256 characters of "
            'A-Z a-z 0-9 _ - (e.g. from: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))")'
        )
    else:
        value = secret.get_secret_value()
        low, high = WEBHOOK_SECRET_LENGTH
        if not low <= len(value) <= high:
            problems.append(f"WEBHOOK_SECRET must be {low} to {high} characters long")
        if not set(value) <= WEBHOOK_SECRET_CHARS:
            problems.append("WEBHOOK_SECRET may hold only the characters A-Z a-z 0-9 _ -")
    if http_port is None:
        problems.append(
            "HTTP_PORT is required with WEBHOOK_URL: the webhook is served by the HTTP "
            "server (behind your HTTPS proxy)"
        )
    return problems


def _decode(field_name: str, decode: Any, field: FieldInfo, value: Any) -> Any:
    """A variable named as a gateway alone (``SMSKA=``) is not a setting: only the
    ``SMSKA_<FIELD>`` ones are read (before nesting it was ignored; it still is)."""
    if field_name in _gateway_fields():
        return {}
    return decode(field_name, field, value)


class _EnvSource(EnvSettingsSource):
    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        return _decode(field_name, super().decode_complex_value, field, value)


class _DotEnvSource(DotEnvSettingsSource):
    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        return _decode(field_name, super().decode_complex_value, field, value)


@cache
def _gateway_fields() -> dict[str, type[GatewaySettings]]:
    """``Settings``' gateway fields, by name (the prefix of their variables)."""
    fields: dict[str, type[GatewaySettings]] = {}
    for name in Settings.model_fields:
        annotation = Settings.model_fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, GatewaySettings):
            fields[name] = annotation
    return fields


def setting_env_names() -> tuple[str, ...]:
    """Every variable the settings read (``SMSRENT_URL``, ``BOT_TOKEN``...)."""
    names: list[str] = []
    gateways = _gateway_fields()
    for name in Settings.model_fields:
        if name in gateways:
            names += [gateways[name].env_name(sub) for sub in gateways[name].model_fields]
        else:
            names.append(name.upper())
    return tuple(names)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one ``ConfigError`` that
    names each wrong setting (and never echoes a value)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc:
            # ("smsrent", "sender") is SMSRENT_SENDER; ("admin_ids", 1) is ADMIN_IDS
            nested = len(loc) > 1 and loc[0] in _gateway_fields()
            env = "_".join(loc[:2] if nested else loc[:1]).upper()
            lines.append(f"{env}: {message}")
        else:
            lines.append(message)
    return "Configuration error: " + "; ".join(lines)
