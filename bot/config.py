"""Settings read from the environment (prefix ``WARDBOT_``) or a ``.env`` file."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Telegram tokens are "<bot id>:<35 url-safe characters>"; accept 30+ so the
# emulator's generated tokens and older tokens both pass.
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one sentence for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WARDBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///./data/wardbot.db"
    ward_config: Path | None = None
    redis_url: str | None = None
    log_level: str = "INFO"
    # Used to print invite links without asking Telegram; looked up with getMe when unset.
    bot_username: str | None = None
    invite_ttl_days: int = 7
    # Seconds between scans of the outbox when nothing wakes the sender earlier.
    delivery_poll_interval: float = 1.0
    # The sender's limits (bot.delivery.sender.Limits). Telegram allows about 30
    # messages a second per bot, one a second per private chat, 20 a minute per group.
    delivery_rate: float = Field(default=25.0, gt=0, le=1000)
    # Messages the sender may send at once after a pause; default: a fifth of the rate.
    delivery_burst: float | None = Field(default=None, ge=1)
    delivery_private_interval: float = Field(default=1.0, ge=0)
    delivery_group_per_minute: int = Field(default=20, ge=1)
    delivery_max_attempts: int = Field(default=5, ge=1, le=50)
    delivery_concurrency: int = Field(default=64, ge=1, le=1000)
    # Seconds before another worker may take over a message a dead worker was sending.
    delivery_lease: float = Field(default=120.0, ge=5)
    # Webhook mode (`wardbot run --webhook`): the public HTTPS URL Telegram posts to,
    # the secret Telegram sends back in a header, and where this process listens.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8000
    # Zalo Bot Platform (bot.zalo.api): started next to Telegram when the token is set.
    zalo_token: SecretStr | None = None
    zalo_api_url: str = "https://bot-api.zaloplatforms.com"
    # Webhook mode for Zalo (`wardbot run --webhook`): Zalo posts to this public URL +
    # path with the secret in a header; unset, Zalo is long-polled even in webhook mode.
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: SecretStr | None = None
    zalo_webhook_path: str = "/zalo/webhook"
    # Zalo publishes no rate limits for bots: conservative, configurable guesses.
    zalo_delivery_rate: float = Field(default=10.0, gt=0, le=1000)
    zalo_private_interval: float = Field(default=1.0, ge=0)
    # Seconds Zalo may hold a getUpdates long poll (Zalo's default: 30).
    zalo_poll_timeout: int = Field(default=30, ge=1, le=60)
    # Minutes of Zalo answering nothing but 429 (quota exceeded) before the ward's
    # admins are told.
    zalo_quota_report_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    # The public address of this server's web endpoints (signed file links: Zalo fetches
    # photos from a URL and has no way to send documents). Default: ZALO_WEBHOOK_URL's
    # origin. Unset in polling mode: Zalo residents are told a file's name only.
    public_url: str | None = None
    # The key that signs file links (32+ characters); default: derived from the Zalo token.
    file_link_key: SecretStr | None = None
    file_link_hours: float = Field(default=24.0, gt=0, le=7 * 24)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("telegram_api_url", "zalo_api_url", "public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def require_token(self) -> str:
        if self.telegram_token is None or not self.telegram_token.get_secret_value().strip():
            raise ConfigError(
                "WARDBOT_TELEGRAM_TOKEN is not set: get a token from @BotFather and put it in "
                "the environment or in .env (or run `wardbot demo`, which needs none)."
            )
        token = self.telegram_token.get_secret_value().strip()
        if not TOKEN_RE.match(token):
            raise ConfigError(
                "WARDBOT_TELEGRAM_TOKEN does not look like a Telegram bot token "
                "(expected digits, a colon, then 30 or more letters, digits, '-' or '_')."
            )
        return token

    def require_webhook_secret(self) -> str:
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ConfigError(
                "WARDBOT_WEBHOOK_SECRET must be set to 16-256 letters, digits, '-' or '_' "
                "in webhook mode, so that only Telegram can post updates."
            )
        return secret

    def zalo_token_value(self) -> str | None:
        """The Zalo token, or None when Zalo is not configured."""
        if self.zalo_token is None or not self.zalo_token.get_secret_value().strip():
            return None
        token = self.zalo_token.get_secret_value().strip()
        if not re.fullmatch(r"[A-Za-z0-9:_-]{8,200}", token):
            raise ConfigError(
                "WARDBOT_ZALO_TOKEN does not look like a Zalo bot token "
                "(letters, digits, ':', '-' or '_')."
            )
        return token

    def public_base_url(self) -> str | None:
        """Where file links point: PUBLIC_URL, else the Zalo webhook's origin."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.zalo_webhook_url:
            parts = urlsplit(self.zalo_webhook_url)
            return f"{parts.scheme}://{parts.netloc}"
        return None

    def file_link_key_bytes(self) -> bytes | None:
        """The key that signs file links, or None when nothing needs file links."""
        from bot.services.file_links import derive_key

        if self.file_link_key is not None and self.file_link_key.get_secret_value().strip():
            key = self.file_link_key.get_secret_value().strip()
            if len(key) < 32:
                raise ConfigError(
                    "WARDBOT_FILE_LINK_KEY must be at least 32 characters (or unset, to "
                    "derive one from the Zalo token)."
                )
            return key.encode()
        token = self.zalo_token_value()
        return derive_key(token) if token else None

    def secrets(self) -> list[str]:
        """Every secret this process holds, for the log redactor."""
        values = [
            self.telegram_token,
            self.zalo_token,
            self.webhook_secret,
            self.zalo_webhook_secret,
            self.file_link_key,
        ]
        return [v.get_secret_value().strip() for v in values if v is not None]

    def require_zalo_webhook_secret(self) -> str:
        secret = self.zalo_webhook_secret.get_secret_value() if self.zalo_webhook_secret else ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ConfigError(
                "WARDBOT_ZALO_WEBHOOK_SECRET must be set to 16-256 letters, digits, '-' or '_' "
                "when WARDBOT_ZALO_WEBHOOK_URL is set, so that only Zalo can post updates."
            )
        return secret


def normalise_database_url(url: str) -> str:
    """Accept the URLs people usually write and pick the async driver wardbot uses."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
