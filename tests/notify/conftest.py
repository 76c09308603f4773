"""A fake Twilio on 127.0.0.1 and settings that point Dive Boat at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roster.settings import Settings
from tests.fake_twilio import FakeTwilio


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A running fake Twilio (REST API + phones)."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio_settings(twilio, db_url) -> Settings:
    """Settings with Twilio credentials for the fake, no public URL (polling mode)."""
    return Settings(
        db=db_url,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_from_number=twilio.number,
        twilio_api_url=twilio.api_url,
    )
