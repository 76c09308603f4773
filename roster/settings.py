"""One settings object for Dive Boat, read from the environment (prefix ``DIVEBOAT_``)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "diveboat"
#: Twilio API requests in flight at once: a 50-invitation quorum goes out in one round
#: trip, and the pool stays under Twilio's default account limit of 100 concurrent requests.
DEFAULT_SEND_CONCURRENCY = 64


def default_database_url() -> str:
    """SQLite file in the user's data directory (created on first run)."""
    data_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return f"sqlite:///{data_dir / 'diveboat.db'}"


class Settings(BaseSettings):
    """Runtime configuration. Secrets are ``SecretStr`` so they are never printed."""

    model_config = SettingsConfigDict(env_prefix="DIVEBOAT_", extra="ignore")

    db: str = Field(default_factory=default_database_url, description="Database URL")
    service_name: str = "Dive Boat"
    timezone: str = "Europe/London"
    refresh_seconds: float = 1.0
    public_url: str | None = None
    send_concurrency: int = Field(default=DEFAULT_SEND_CONCURRENCY, ge=1,
                                  description="Twilio API requests in flight at once when sending")
    twilio_api_url: str | None = None
    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "DIVEBOAT_TWILIO_ACCOUNT_SID")
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "DIVEBOAT_TWILIO_AUTH_TOKEN")
    )
    twilio_from_number: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_FROM_NUMBER", "DIVEBOAT_TWILIO_FROM_NUMBER")
    )
