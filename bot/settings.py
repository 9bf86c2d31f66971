"""Settings, read from the environment and an optional ``.env`` file.

Nothing is read at import time: ``load_settings()`` is called by the entry points.
Secrets are ``SecretStr``; a configuration error names the setting, never a secret.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from providers import smska, smsrent
from providers.sms import InvalidSenderName, is_region_code, validate_sender
from providers.smska import SmskaConfig
from providers.smsrent import SmsrentConfig

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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    # Telegram (the bot only; the command line needs none of these)
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    send_confirmation: bool = True
    preview_ttl_seconds: int = Field(default=600, ge=10)

    # smsrent.ru
    smsrent_url: str = smsrent.DEFAULT_URL
    smsrent_project_id: int | None = None
    smsrent_secret_key: SecretStr | None = None
    smsrent_sender: str | None = None
    smsrent_encoding: smsrent.SmsrentEncoding = "UTF-8"

    # smska.net
    smska_url: str = smska.DEFAULT_URL
    smska_api_key: str | None = None
    smska_api_password: SecretStr | None = None
    smska_sender: str | None = None

    # sending
    default_provider: ProviderName | None = None
    failover: Annotated[list[ProviderName], NoDecode] = Field(default_factory=list)
    #: ISO region codes SMS may go to (e.g. RU,KZ,BY); empty: every country.
    allowed_countries: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sandbox_delivery_seconds: float = Field(default=5.0, ge=0)
    http_connect_timeout: float = Field(default=5.0, gt=0)
    http_read_timeout: float = Field(default=20.0, gt=0)
    #: sends in flight at once per gateway; more wait in a queue (never a failure)
    smsrent_concurrency: int = Field(default=10, ge=1, le=200)
    smska_concurrency: int = Field(default=10, ge=1, le=200)

    # limits
    sends_per_minute: int = Field(default=5, ge=0)
    sends_per_day: int = Field(default=200, ge=0)

    # delivery tracking
    status_poll_first_seconds: float = Field(default=15.0, gt=0)
    status_poll_max_seconds: float = Field(default=600.0, gt=0)
    status_max_age_hours: float = Field(default=48.0, gt=0)

    # storage and logs
    database_path: Path = Path("data/smsbot.sqlite3")
    log_level: LogLevel = "INFO"
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)

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

    @field_validator("smsrent_encoding", mode="before")
    @classmethod
    def _encoding(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper().replace("_", "-")
            return {"UTF8": "UTF-8", "CP1251": "WINDOWS-1251", "WINDOWS1251": "WINDOWS-1251"}.get(
                upper, upper
            )
        return value

    @field_validator("default_provider", "log_level", mode="before")
    @classmethod
    def _lower_or_upper(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None if info.field_name == "default_provider" else value
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator(
        "smsrent_secret_key",
        "smska_api_password",
        "bot_token",
        "smska_api_key",
        "smsrent_sender",
        "smska_sender",
        "telegram_api_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("smsrent_project_id", mode="before")
    @classmethod
    def _blank_project(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _check_gateways(self) -> Settings:
        problems: list[str] = []
        rent = {
            "SMSRENT_PROJECT_ID": self.smsrent_project_id is not None,
            "SMSRENT_SECRET_KEY": self.smsrent_secret_key is not None,
            "SMSRENT_SENDER": self.smsrent_sender is not None,
        }
        if any(rent.values()) and not all(rent.values()):
            missing = ", ".join(k for k, v in rent.items() if not v)
            problems.append(f"smsrent is partly configured: set {missing} as well")
        ska = {
            "SMSKA_API_KEY": self.smska_api_key is not None,
            "SMSKA_API_PASSWORD": self.smska_api_password is not None,
            "SMSKA_SENDER": self.smska_sender is not None,
        }
        if any(ska.values()) and not all(ska.values()):
            missing = ", ".join(k for k, v in ska.items() if not v)
            problems.append(f"smska is partly configured: set {missing} as well")
        for env, sender in (
            ("SMSRENT_SENDER", self.smsrent_sender),
            ("SMSKA_SENDER", self.smska_sender),
        ):
            if sender is not None:
                try:
                    validate_sender(sender)
                except InvalidSenderName as exc:
                    problems.append(f"{env}: {exc}")
        for env, url in (("SMSRENT_URL", self.smsrent_url), ("SMSKA_URL", self.smska_url)):
            if (problem := url_problem(url)) is not None:
                problems.append(f"{env} {problem}")
        # aiogram builds "{base}/bot{token}/{method}": a query or fragment would
        # swallow the token and method.
        api_url = self.telegram_api_url
        if api_url is not None and (problem := url_problem(api_url, base_only=True)):
            problems.append(f"TELEGRAM_API_URL {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        enabled = self.enabled_providers
        if self.default_provider is not None and self.default_provider not in enabled:
            raise ValueError(
                f"DEFAULT_PROVIDER is {self.default_provider}, but that gateway is not configured "
                f"(enabled: {', '.join(enabled)})"
            )
        for name in self.failover:
            if name not in enabled:
                raise ValueError(f"FAILOVER names {name}, which is not configured")
        return self

    # -- derived -----------------------------------------------------------------

    @property
    def smsrent_config(self) -> SmsrentConfig | None:
        if self.smsrent_project_id is None or self.smsrent_secret_key is None:
            return None
        assert self.smsrent_sender is not None
        return SmsrentConfig(
            project_id=self.smsrent_project_id,
            secret_key=self.smsrent_secret_key,
            sender=self.smsrent_sender,
            url=self.smsrent_url,
            encoding=self.smsrent_encoding,
        )

    @property
    def smska_config(self) -> SmskaConfig | None:
        if self.smska_api_key is None or self.smska_api_password is None:
            return None
        assert self.smska_sender is not None
        return SmskaConfig(
            api_key=self.smska_api_key,
            api_password=self.smska_api_password,
            sender=self.smska_sender,
            url=self.smska_url,
        )

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
        return {"smsrent": self.smsrent_concurrency, "smska": self.smska_concurrency}

    @property
    def http_pool_size(self) -> int:
        """Every send slot, plus room for balance and status requests."""
        return sum(self.send_concurrency.values()) + 10

    @property
    def enabled_providers(self) -> list[ProviderName]:
        """Gateways with credentials, in a fixed order; the sandbox when there are
        none, or when it is chosen explicitly."""
        names: list[ProviderName] = []
        if self.smsrent_project_id is not None and self.smsrent_secret_key is not None:
            names.append("smsrent")
        if self.smska_api_key is not None and self.smska_api_password is not None:
            names.append("smska")
        if not names or self.default_provider == "sandbox" or "sandbox" in self.failover:
            names.append("sandbox")
        return names

    @property
    def allowed_regions(self) -> frozenset[str]:
        """``ALLOWED_COUNTRIES`` as a set of ISO codes; empty: every country."""
        return frozenset(self.allowed_countries)

    @property
    def effective_default_provider(self) -> ProviderName:
        return self.default_provider or self.enabled_providers[0]

    def secret_values(self) -> list[str]:
        """Every secret's value, for the log redaction filter."""
        secrets = [self.bot_token, self.smsrent_secret_key, self.smska_api_password]
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


_ENV_NAMES = {name: name.upper() for name in Settings.model_fields}


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
            env = _ENV_NAMES.get(loc[0], loc[0].upper())
            lines.append(f"{env}: {message}")
        else:
            lines.append(message)
    return "Configuration error: " + "; ".join(lines)
