"""The real twilio library, pointed at the fake Twilio by DIVEBOAT_TWILIO_API_URL."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException

from notify.twilio_client import TwilioNotConfigured, async_client, make_client, rewrite_twilio_url, twilio_configured
from roster.settings import Settings


def test_rewrites_only_twilio_hosts_and_keeps_path_and_query():
    base = "http://127.0.0.1:9999/proxy/"
    assert rewrite_twilio_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?Page=2", base) == (
        "http://127.0.0.1:9999/proxy/2010-04-01/Accounts/AC1/Messages.json?Page=2"
    )
    assert rewrite_twilio_url("https://api.dublin.ie1.twilio.com/x", base) == "http://127.0.0.1:9999/proxy/x"
    assert rewrite_twilio_url("https://example.org/x", base) == "https://example.org/x"
    assert rewrite_twilio_url("https://nottwilio.com/x", base) == "https://nottwilio.com/x"
    assert rewrite_twilio_url("https://api.twilio.com/x", None) == "https://api.twilio.com/x"


def test_configured_only_with_sid_token_and_number(monkeypatch):
    assert not twilio_configured(Settings(db="sqlite://"))
    assert not twilio_configured(Settings(db="sqlite://", twilio_account_sid="AC1", twilio_auth_token="t"))
    with pytest.raises(TwilioNotConfigured, match="TWILIO_ACCOUNT_SID"):
        make_client(Settings(db="sqlite://"))
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+447700900000")
    settings = Settings(db="sqlite://")
    assert twilio_configured(settings)
    assert "secret" not in repr(settings)


def test_blocking_client_creates_and_lists_messages_on_the_fake(twilio, twilio_settings):
    client = make_client(twilio_settings)
    sent = client.messages.create(to="+447700900001", from_=twilio.number, body="Dive Boat: hello")
    assert sent.sid.startswith("SM") and sent.status == "queued"
    assert twilio.phone("+447700900001").texts == ["Dive Boat: hello"]

    reply_sid = twilio.phone("+447700900001").reply("1")
    listed = client.messages.list(to=twilio.number, page_size=1)
    assert [(m.sid, m.from_, m.body, m.direction) for m in listed] == [(reply_sid, "+447700900001", "1", "inbound")]


def test_listing_follows_next_page_uri_through_the_rewrite(twilio, twilio_settings):
    for n in range(7):
        twilio.phone(f"+4477009001{n:02d}").reply(str(n))
    listed = make_client(twilio_settings).messages.list(to=twilio.number, page_size=3)
    assert sorted(m.body for m in listed) == [str(n) for n in range(7)]
    assert twilio.api_requests == 3  # three pages


def test_api_errors_arrive_as_twilio_error_codes(twilio, twilio_settings):
    twilio.phone("+447700900002").reject_code = 21610
    with pytest.raises(TwilioRestException) as raised:
        make_client(twilio_settings).messages.create(to="+447700900002", from_=twilio.number, body="x")
    assert (raised.value.status, raised.value.code) == (400, 21610)


def test_wrong_credentials_are_refused(twilio, twilio_settings):
    wrong = twilio_settings.model_copy(update={"twilio_auth_token": SecretStr("not-the-token")})
    with pytest.raises(TwilioRestException) as raised:
        make_client(wrong).messages.create(to="+447700900001", from_=twilio.number, body="x")
    assert raised.value.status == 401


def test_async_client_sends_concurrently(twilio, twilio_settings):
    twilio.default_latency = 0.2

    async def fan_out():
        async with async_client(twilio_settings) as client:
            return await asyncio.gather(*(
                client.messages.create_async(to=f"+4477009002{n:02d}", from_=twilio.number, body="x") for n in range(30)
            ))

    sent = asyncio.run(fan_out())
    assert len({m.sid for m in sent}) == 30
    assert twilio.max_in_flight == 30


def test_async_client_opens_at_most_its_connections(twilio, twilio_settings):
    twilio.default_latency = 0.05

    async def fan_out():
        async with async_client(twilio_settings, connections=3) as client:
            return await asyncio.gather(*(
                client.messages.create_async(to=f"+4477009003{n:02d}", from_=twilio.number, body="x") for n in range(12)
            ))

    assert len(asyncio.run(fan_out())) == 12
    assert twilio.max_in_flight == 3
