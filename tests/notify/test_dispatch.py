"""Sending the outbox: concurrently, once, with Twilio's error codes turned into words."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlmodel import select

from notify.dispatch import deliver_pending
from roster.models import Person
from roster.quorum.escalation import advance
from roster.quorum.handling import record_sms_reply
from roster.quorum.lifecycle import create_request, queue_conference
from roster.quorum.models import Invitation, OutboundMessage
from roster.settings import Settings
from tests.notify.helpers import add_team, ask_for_quorum, invitation_states


def outbound(new_session) -> list[OutboundMessage]:
    with new_session() as session:
        return list(session.exec(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_without_credentials_messages_wait_in_the_outbox(twilio, team, clock, new_session, db_url):
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    report = deliver_pending(Settings(db=db_url), new_session, now=clock())
    assert (report.outbox, report.sent) == (3, 0)
    assert {m.status for m in outbound(new_session)} == {"outbox"}
    assert twilio.api_requests == 0
    assert set(invitation_states(new_session, request_id, team).values()) == {"sent"}


def test_a_pass_with_nothing_to_send_only_reads(twilio, twilio_settings, team, clock, new_session, engine):
    """The escalation clock's usual turn: no claim, so no wait for a writer holding SQLite's lock."""
    ask_for_quorum(new_session, team["Sam"], clock)
    assert deliver_pending(twilio_settings, new_session, now=clock()).sent == 3
    with engine.connect() as writer:
        writer.begin()  # on SQLite this holds the write lock; a claim would wait for it
        assert deliver_pending(twilio_settings, new_session, now=clock()).handled == 0
    assert twilio.api_requests == 3


def test_invitations_are_sent_once_with_their_provider_sids(twilio, twilio_settings, team, phones, clock, new_session):
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    first = deliver_pending(twilio_settings, new_session, now=clock())
    again = deliver_pending(twilio_settings, new_session, now=clock())
    assert (first.sent, again.handled) == (3, 0)
    rows = outbound(new_session)
    assert {row.provider_sid for row in rows} == {m.sid for m in twilio.sent_messages()}
    assert {row.status for row in rows} == {"sent"}
    assert all(m.from_ == twilio.number and m.status_callback is None for m in twilio.sent_messages())
    assert set(invitation_states(new_session, request_id, team).values()) == {"sent"}


def queue_first_waves(new_session, clock, requests: int) -> None:
    """``requests`` quorum requests whose first waves invite 10 people each."""
    with new_session() as session:
        add_team(session, clock(), names=[f"Worker {n:02d}" for n in range(requests * 12)])
        everyone = list(session.exec(select(Person).order_by(Person.id)))
        for requester in everyone[:requests]:
            create_request(session, requester.id, need=9, now=clock())


def test_fifty_invitations_go_out_in_one_round_trip(twilio, twilio_settings, new_session, clock):
    queue_first_waves(new_session, clock, 5)
    twilio.default_latency = 0.5
    report = deliver_pending(twilio_settings, new_session, now=clock())
    assert report.sent == 50
    assert len({m.to for m in twilio.sent_messages()}) == 50
    assert twilio.max_in_flight == 50  # all at once, not in rounds


def test_send_concurrency_bounds_the_requests_in_flight(twilio, twilio_settings, new_session, clock):
    queue_first_waves(new_session, clock, 3)
    twilio.default_latency = 0.05
    report = deliver_pending(twilio_settings.model_copy(update={"send_concurrency": 4}), new_session, now=clock())
    assert report.sent == 30
    assert 1 <= twilio.max_in_flight <= 4


def test_a_refused_number_fails_with_words_and_is_replaced(twilio, twilio_settings, team, phones, clock, new_session):
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    with new_session() as session:
        first_wave = [i.person_id for i in session.exec(select(Invitation).where(Invitation.request_id == request_id))]
    names = {p.id: n for n, p in team.items()}
    refused = names[first_wave[0]]
    phones[refused].reject_code = 21610
    report = deliver_pending(twilio_settings, new_session, now=clock())
    assert (report.sent, report.failed) == (3, 1)  # two, then the replacement in a follow-up pass
    with new_session() as session:
        invitation = session.exec(
            select(Invitation).where(Invitation.request_id == request_id, Invitation.person_id == team[refused].id)
        ).one()
        assert session.get(Person, team[refused].id).sms_opt_out
    assert (invitation.state, invitation.error_code) == ("failed", "21610")
    assert "opted out" in invitation.error_text
    assert phones[refused].texts == []
    assert len([n for n, s in invitation_states(new_session, request_id, team).items() if s == "sent"]) == 3


def test_twilio_trouble_leaves_messages_to_retry_not_failed(twilio, twilio_settings, team, clock, new_session):
    ask_for_quorum(new_session, team["Sam"], clock)
    wrong = twilio_settings.model_copy(update={"twilio_api_url": "http://127.0.0.1:9"})  # nothing listens there
    report = deliver_pending(wrong, new_session, now=clock())
    assert (report.retry_later, report.failed) == (3, 0)
    assert {m.status for m in outbound(new_session)} == {"sending"}
    clock.advance(minutes=2, seconds=1)  # a stuck claim is taken over by the next pass
    assert deliver_pending(twilio_settings, new_session, now=clock()).sent == 3


def call_the_silent(settings, new_session, team, clock) -> None:
    """A request whose invitees stay silent for three minutes: the clock queues voice calls."""
    ask_for_quorum(new_session, team["Sam"], clock, need=1)
    deliver_pending(settings, new_session, now=clock())
    clock.advance(minutes=3, seconds=1)
    with new_session() as session:
        advance(session, now=clock())
    deliver_pending(settings, new_session, now=clock())


def test_voice_without_a_public_url_reads_the_message_and_asks_for_an_sms(twilio, twilio_settings, team, clock, new_session):
    call_the_silent(twilio_settings, new_session, team, clock)
    assert len(twilio.calls) == 2
    for call in twilio.calls:
        assert call.url is None and call.machine_detection is None
        said = [s.text for s in ET.fromstring(call.twiml).iter("Say")]
        assert said[0].startswith("This is Dive Boat. Sam needs a reflective quorum now") and "Press" not in said[0]
        assert said[-1].startswith("Please reply to our text message")


def test_with_a_public_url_sms_report_status_and_calls_gather_keys(twilio, twilio_settings, team, clock, new_session):
    settings = twilio_settings.model_copy(update={"public_url": "https://diveboat.example.org/"})
    call_the_silent(settings, new_session, team, clock)
    assert {m.status_callback for m in twilio.sent_messages()} == {"https://diveboat.example.org/twilio/status"}
    with new_session() as session:
        called = {i.id for i in session.exec(select(Invitation).where(Invitation.voice_called_at.is_not(None)))}
    assert {call.url for call in twilio.calls} == {f"https://diveboat.example.org/twilio/voice?invitation={i}" for i in called}
    assert all(c.machine_detection == "Enable" and c.twiml is None for c in twilio.calls)
    assert {c.status_callback for c in twilio.calls} == {"https://diveboat.example.org/twilio/status"}


def test_conference_calls_dial_everyone_into_one_room(twilio, twilio_settings, team, phones, clock, new_session):
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    deliver_pending(twilio_settings, new_session, now=clock())
    joiners = [n for n, p in phones.items() if p.texts][:2]
    with new_session() as session:
        for name in joiners:
            record_sms_reply(session, from_phone=phones[name].number, body="1", provider_sid=f"SM-{name}", received_at=clock())
        queue_conference(session, request_id, now=clock())
    deliver_pending(twilio_settings, new_session, now=clock())
    assert sorted(c.to for c in twilio.calls) == sorted(phones[n].number for n in ["Sam", *joiners])
    rooms = {ET.fromstring(c.twiml).find("Dial/Conference").text for c in twilio.calls}
    assert rooms == {f"diveboat-quorum-{request_id}"}
