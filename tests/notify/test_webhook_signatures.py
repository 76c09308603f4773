"""Only Twilio gets in: forged or missing signatures get 403 and change nothing; duplicates count once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.datastructures import FormData
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from notify.server import create_server
from notify.webhooks import MAX_BODY_BYTES, read_form, signature_matches
from roster.quorum.models import InboundMessage, OutboundMessage, QuorumEvent
from tests.fake_twilio import ServerThread
from tests.notify.helpers import ask_for_quorum, invitation_states, unsent, wait_for


def count(new_session, table) -> int:
    with new_session() as session:
        return session.exec(select(sa.func.count()).select_from(table)).one()


def first_wave(serve, new_session, team, phones, clock):
    """A running server and a request whose first wave has been sent; returns (service, request id, invitees)."""
    service = serve()
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    wait_for(lambda: unsent(new_session) == 0 and sum(bool(p.texts) for p in phones.values()) == 3, "the first wave")
    return service, request_id, [name for name, phone in phones.items() if phone.texts]


def reply_params(twilio, phone, body, sid="SM" + "f" * 32) -> dict[str, str]:
    return {"AccountSid": twilio.account_sid, "Body": body, "From": phone.number, "MessageSid": sid, "To": twilio.number}


def test_forged_missing_and_tampered_signatures_are_refused_and_change_nothing(serve, twilio, team, phones, clock, new_session):
    service, request_id, invited = first_wave(serve, new_session, team, phones, clock)
    before = (invitation_states(new_session, request_id, team), count(new_session, OutboundMessage),
              count(new_session, QuorumEvent))
    sms_url = f"{service.url}/twilio/sms"
    params = reply_params(twilio, phones[invited[0]], "1")
    attempts = [
        twilio.post_signed(sms_url, params, signature="forged"),
        twilio.post_signed(sms_url, params, signature=""),
        httpx.post(sms_url, data=params),  # no header at all
        twilio.post_signed(sms_url, params, signature=RequestValidator("another-token").compute_signature(sms_url, params)),
        twilio.post_signed(sms_url, params, signature=twilio.sign(sms_url, params | {"Body": "2"})),  # body changed
        twilio.post_signed(sms_url, params, signature=twilio.sign("https://elsewhere.example/twilio/sms", params)),
    ]
    status_params = {"MessageSid": twilio.sent_messages()[0].sid, "MessageStatus": "failed", "ErrorCode": "30003"}
    attempts.append(twilio.post_signed(f"{service.url}/twilio/status", status_params, signature="forged"))
    attempts.append(twilio.post_signed(f"{service.url}/twilio/voice?invitation=1", {"CallSid": "CA1", "Digits": "1"},
                                       signature=twilio.sign(f"{service.url}/twilio/voice?invitation=2",
                                                             {"CallSid": "CA1", "Digits": "1"})))
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert count(new_session, InboundMessage) == 0
    after = (invitation_states(new_session, request_id, team), count(new_session, OutboundMessage),
             count(new_session, QuorumEvent))
    assert after == before


def test_a_webhook_delivered_again_counts_once(serve, twilio, team, phones, clock, new_session):
    service, request_id, (a, b, c) = first_wave(serve, new_session, team, phones, clock)
    sid = phones[a].reply("1")
    for _ in range(3):  # Twilio retries when it did not see our answer in time
        assert twilio.post_inbound(twilio.inbound(sid)).status_code == 200
    with ThreadPoolExecutor(8) as pool:  # ... even at the same moment
        codes = list(pool.map(lambda _: twilio.post_inbound(twilio.inbound(sid)).status_code, range(8)))
    assert codes == [200] * 8
    assert count(new_session, InboundMessage) == 1
    with new_session() as session:
        joined = session.exec(select(QuorumEvent).where(QuorumEvent.text.contains("joined"))).all()
    assert len(joined) == 1
    assert invitation_states(new_session, request_id, team)[a] == "joined"

    phones[c].reply("1")  # the quorum forms; the duplicate of the forming reply adds nothing either
    wait_for(lambda: unsent(new_session) == 0 and len(phones[b].texts) == 2, "the stand-down")
    twilio.post_inbound(twilio.messages[-1])
    wait_for(lambda: unsent(new_session) == 0, "deliveries")
    assert [len(phones[n].texts) for n in (a, b, c)] == [2, 2, 2]
    assert phones[b].last_text.startswith("Dive Boat: thanks, the quorum for Sam")


def test_status_callbacks_are_idempotent_and_failures_are_explained(serve, twilio, team, phones, clock, new_session):
    service, request_id, (a, b, c) = first_wave(serve, new_session, team, phones, clock)
    phones[b].undelivered_code = 30003
    assert twilio.deliver_statuses() == 3
    for message in twilio.sent_messages():
        assert twilio.post_status(message).status_code == 204  # delivered again: no change
    with new_session() as session:
        rows = {row.to_phone: row for row in session.exec(select(OutboundMessage))}
    assert rows[phones[a].number].status == "delivered"
    assert (rows[phones[b].number].status, rows[phones[b].number].error_code) == ("failed", "30003")
    assert "unreachable" in rows[phones[b].number].error_text
    states = invitation_states(new_session, request_id, team)
    assert (states[a], states[b], states[c]) == ("delivered", "failed", "delivered")
    wait_for(lambda: len([n for n, s in invitation_states(new_session, request_id, team).items() if s != "failed"]) == 3,
             "a replacement for the unreachable phone")


def test_keypress_retried_by_twilio_counts_once(serve, twilio, team, phones, clock, new_session):
    service, request_id, (a, b, c) = first_wave(serve, new_session, team, phones, clock)
    clock.advance(minutes=3, seconds=1)
    wait_for(lambda: len(twilio.calls) == 3, "calls to the silent invitees")
    phones[a].answer()
    assert "you have joined" in phones[a].press("1")
    url, params = phones[a].calls[0].requests[-1]
    assert "you have joined" in twilio.post_signed(url, params).text  # Twilio retried the Gather action
    with new_session() as session:
        assert len(session.exec(select(InboundMessage).where(InboundMessage.channel == "voice")).all()) == 1
    assert invitation_states(new_session, request_id, team)[a] == "joined"


def test_signatures_are_checked_against_the_public_url_behind_a_proxy(twilio, twilio_settings, engine, clock):
    settings = twilio_settings.model_copy(update={"public_url": "https://diveboat.example.org/hooks/"})
    server = ServerThread()
    local = f"{server.url}/twilio/sms?x=1"
    public = "https://diveboat.example.org/hooks/twilio/sms?x=1"  # the proxy forwards /hooks/* to us
    params = {"Body": "hello", "From": "+447700900999", "MessageSid": "SM" + "e" * 32, "To": twilio.number}
    server.start(create_server(settings, engine))
    try:
        assert twilio.post_signed(local, params, signature=twilio.sign(local, params)).status_code == 403
        assert twilio.post_signed(local, params, signature=twilio.sign(public, params)).status_code == 200
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    finally:
        server.stop()


def test_the_signature_check_accepts_exactly_what_twilios_validator_accepts():
    token = "token-for-the-check"
    form = FormData([("Body", "1 thanks"), ("From", "+447700900123"), ("MediaUrl", "b"), ("MediaUrl", "a")])
    fields = {"Body": "1 thanks", "From": "+447700900123", "MediaUrl": ["b", "a"]}
    urls = ["https://boat.example/twilio/sms", "https://boat.example:443/twilio/sms", "http://boat.example/twilio/sms",
            "http://127.0.0.1:8000/twilio/voice?invitation=3", "http://127.0.0.1/twilio/voice?invitation=3"]
    twilio = RequestValidator(token)
    signatures = ["", "forged", "ünïcode", twilio.compute_signature(urls[0], {"Body": "2"})]
    for algorithm in ("HMAC_SHA1", "HMAC_SHA256"):
        signatures += [RequestValidator(token).compute_signature(u, _MultiDict(fields), algorithm) for u in urls]
    for url in urls:
        for signature in signatures:
            for algorithm in ("HMAC_SHA1", "HMAC_SHA256", "HMAC_MD5"):
                expected = twilio.validate(url, _MultiDict(fields), signature, algorithm)
                assert signature_matches(token, url, form, signature, algorithm) is expected, (url, signature, algorithm)
    assert signature_matches(token, urls[1], form, twilio.compute_signature(urls[0], _MultiDict(fields)), "HMAC_SHA1")


class _MultiDict(dict):
    """Fields with several values, as Twilio's validator reads them (``getall``)."""

    def getall(self, name):
        value = self[name]
        return value if isinstance(value, list) else [value]


FORM_BODIES = [
    b"Body=1+thanks&From=%2B447700900123&Empty=&MediaUrl=a&MediaUrl=b",
    "Body=Caf%C3%A9+%F0%9F%98%80+%26+ok%3D1%3Bx&To=%2B44".encode(),
    b"A=%ZZ&B=%E9&C",
    b"",
    b"&&a=1&&",
]


@pytest.mark.parametrize("body", FORM_BODIES)
async def test_the_webhook_form_reads_as_starlettes_parser_reads_it(body):
    scope = {"type": "http", "method": "POST", "path": "/twilio/sms", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8")]}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    ours, starlettes = await read_form(Request(scope, receive)), await Request(scope, receive).form()
    assert list(ours.multi_items()) == list(starlettes.multi_items())


def test_an_oversized_webhook_body_is_refused_before_it_is_read_whole(serve, twilio, new_session):
    service = serve()
    params = {"AccountSid": twilio.account_sid, "Body": "x" * (MAX_BODY_BYTES + 1), "From": "+447700900123",
              "MessageSid": "SM" + "e" * 32, "To": twilio.number}
    response = twilio.post_signed(f"{service.url}/twilio/sms", params)
    assert response.status_code == 413 and "not a Twilio webhook" in response.json()["detail"]
    assert count(new_session, InboundMessage) == 0
