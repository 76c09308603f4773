"""Fixtures for the notify tests: a fake Twilio on 127.0.0.1, a team on duty, ``diveboat serve`` in threads."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from roster.models import Person
from roster.settings import Settings
from tests.fake_twilio import FakeTwilio, Phone
from tests.notify.helpers import Clock, Service, add_team


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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def team(new_session, clock) -> dict[str, Person]:
    """Sam (who asks) and six keyworkers on duty, by first name."""
    with new_session() as session:
        return add_team(session, clock())


@pytest.fixture
def phones(team, twilio) -> dict[str, Phone]:
    """Each team member's phone on the fake Twilio, by first name."""
    return {name: twilio.phone(person.phone) for name, person in team.items()}


@pytest.fixture
def serve(twilio, twilio_settings, engine, clock) -> Iterator[Callable[..., Service]]:
    """Start ``diveboat serve``-equivalents; Twilio's SMS webhook points at the latest one."""
    started: list[Service] = []

    def start(**options) -> Service:
        service = Service(twilio_settings, clock, **options).start()
        twilio.sms_webhook = f"{service.url}/twilio/sms"
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
