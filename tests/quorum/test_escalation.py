"""The escalation clock: voice calls, later waves, widening, expiry; never a step twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest
from sqlmodel import select

from roster.models import Role
from roster.quorum import advance, create_request, record_sms_reply, request_view
from roster.quorum.escalation import due_request_ids
from roster.quorum.handling import form_after_join
from roster.quorum.models import InboundMessage, Invitation, OutboundMessage
from roster.quorum.outbox import anything_to_claim
from roster.quorum.policy import DEFAULT_POLICY
from tests.quorum.conftest import NOW


def reply(roster, name, body, minutes):
    return record_sms_reply(roster.session, from_phone=roster.phone(name), body=body,
                            provider_sid=f"SM-{name}-{minutes}-{body}", received_at=NOW + timedelta(minutes=minutes))


def at(minutes, seconds=0):
    return NOW + timedelta(minutes=minutes, seconds=seconds)


def test_silent_invitees_are_called_and_a_second_wave_invited_after_three_minutes(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King", "Fin Lowe")
    request = create_request(session, sam.id, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "1", 1)
    reply(roster, "Bea Hart", "2", 1)
    assert advance(session, now=at(2, 59)) == []
    steps = advance(session, now=at(3))
    assert steps == [f"request {request.id}: calling Cal", f"request {request.id}: wave 2: Dee, Eve"]
    assert advance(session, now=at(3, 1)) == []  # nothing is done twice
    queued = [(m.kind, roster.name_of(m.to_phone)) for m in roster.queued()]
    assert queued == [("voice", "Cal Idris"), ("sms", "Dee Jones"), ("sms", "Eve King")]
    voice = roster.queued()[0]
    assert voice.body == "This is Dive Boat. Sam needs a reflective quorum now. Press 1 to join, or 2 if you can't."
    assert voice.invitation_id is not None


def test_when_everyone_has_answered_the_next_wave_goes_at_once(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones")
    request = create_request(session, sam.id, need=1, now=NOW)  # Alex, Bea
    roster.send_all()
    reply(roster, "Alex Green", "2", 1)
    reply(roster, "Bea Hart", "no", 1)
    assert advance(session, now=at(1, 5)) == [f"request {request.id}: wave 2: Cal, Dee"]


def test_widens_to_metateam_and_experts_when_keyworkers_run_out(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart")
    roster.add("Dr Nadia Haddad", Role.METATEAM, consent=(3, time(9, 0), time(17, 0)))
    roster.add("Kim Walsh", Role.EXPERT_BY_EXPERIENCE)
    request = create_request(session, sam.id, need=2, now=NOW)
    assert [roster.name_of(m.to_phone) for m in roster.send_all()] == ["Alex Green", "Bea Hart", "Dr Nadia Haddad"]
    events = [e["text"] for e in request_view(session, request.id, now=NOW).events]
    assert "Wave 1 (widened to the MetaTeam and Experts by Experience): invited Alex, Bea, Nadia by SMS" in events
    advance(session, now=at(3))
    assert [roster.name_of(m.to_phone) for m in roster.queued() if m.kind == "sms"] == ["Kim Walsh"]


def test_nobody_left_is_noted_once_per_wave_interval(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green")
    request = create_request(session, sam.id, need=1, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "2", 1)
    assert advance(session, now=at(1)) == [f"request {request.id}: nobody else can be asked"]
    assert advance(session, now=at(2)) == []
    assert advance(session, now=at(4, 1)) == [f"request {request.id}: nobody else can be asked"]


def test_expiry_reports_what_happened_to_each_person(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    request = create_request(session, sam.id, need=3, deadline_minutes=5, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "1", 1)
    reply(roster, "Bea Hart", "2", 1)
    steps = advance(session, now=at(5))
    assert steps == [f"request {request.id}: Not formed by the deadline: Alex joined; Bea declined; Cal no answer"]
    view = request_view(session, request.id, now=at(5))
    assert view.state == "expired" and view.closed_at == at(5) and view.seconds_left == 0
    told = [(roster.name_of(m.to_phone), m.body) for m in roster.queued()]
    assert told == [("Alex Green", "Dive Boat: Sam's quorum request was not formed in time. Thanks, no need to reply.")]
    assert advance(session, now=at(6)) == []


def test_a_restart_resumes_without_re_sending(roster, session, new_session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones")
    request = create_request(session, sam.id, now=NOW)
    roster.send_all()
    session.close()
    with new_session() as fresh:  # another process, after a restart
        assert advance(fresh, now=at(1)) == []
        advance(fresh, now=at(3))
        advance(fresh, now=at(3))
    with new_session() as fresh:
        invitations = fresh.exec(select(Invitation).where(Invitation.request_id == request.id)).all()
        messages = fresh.exec(select(OutboundMessage).where(OutboundMessage.kind == "sms")).all()
    assert len(invitations) == 4 and len(messages) == 4
    assert len({m.to_phone for m in messages}) == 4


def test_the_clock_locks_only_requests_with_a_step_due(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King", "Fin Lowe")
    request = create_request(session, sam.id, need=2, now=NOW)
    roster.send_all()
    assert due_request_ids(session, at(2, 59), DEFAULT_POLICY) == []  # invited, nobody silent for 3 min yet
    assert due_request_ids(session, at(3), DEFAULT_POLICY) == [request.id]  # calls and the next wave are due
    reply(roster, "Alex Green", "1", 1)
    reply(roster, "Bea Hart", "1", 1)  # formed by the reply itself: nothing left for the clock
    assert due_request_ids(session, at(3), DEFAULT_POLICY) == []


def test_an_idle_turn_reads_without_waiting_for_another_writer(roster, session, engine, new_session):
    """The clock's reads take no write lock: a dashboard writing on SQLite does not hold up its turn."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    request = create_request(session, sam.id, need=2, now=NOW)
    roster.send_all()
    with engine.connect() as writer:
        writer.begin()  # BEGIN IMMEDIATE: this connection holds the write lock meanwhile
        with new_session() as other:
            assert due_request_ids(other, at(3), DEFAULT_POLICY) == [request.id]
            assert advance(other, now=at(1)) == []  # nothing due, nothing locked
            assert not anything_to_claim(other, now=at(1))


def test_each_request_is_due_by_its_own_last_wave(roster, session):
    texts_only = replace(DEFAULT_POLICY, voice_enabled=False)  # only the wave interval makes a request due
    sam, kim, *_ = roster.team("Sam Okafor", "Kim Nash", *(f"Worker{n:02d} Test" for n in range(12)))
    first = create_request(session, sam.id, need=2, now=NOW, policy=texts_only)
    roster.send_all()
    assert advance(session, now=at(3), policy=texts_only)  # the first request's wave 2 at 3:00
    roster.send_all(now=at(3))
    second = create_request(session, kim.id, need=2, now=at(4), policy=texts_only)  # its wave 1 at 4:00
    roster.send_all(now=at(4))
    assert due_request_ids(session, at(5, 59), texts_only) == []
    assert due_request_ids(session, at(6), texts_only) == [first.id]
    assert due_request_ids(session, at(7), texts_only) == [first.id, second.id]


def test_a_join_recorded_without_forming_is_formed_by_its_second_step(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    request = create_request(session, sam.id, need=2, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "1", 1)
    outcome = record_sms_reply(session, from_phone=roster.phone("Bea Hart"), body="1", provider_sid="SM-bea",
                               received_at=at(1), form_quorum=False)
    if session.get_bind().dialect.name == "sqlite":  # one writer at a time: the join forms it at once
        assert outcome.formed and not outcome.check_quorum
        return
    assert outcome.check_quorum and not outcome.formed
    assert request_view(session, request.id).state == "open"  # the webhook has answered; not formed yet
    session.commit()  # the second step starts in a session of its own, as in the server
    formed = form_after_join(session, outcome, provider_sid="SM-bea", received_at=at(1))
    assert formed.formed and formed.queued and formed.outcome == "joined: quorum formed"
    assert request_view(session, request.id).state == "formed"
    assert session.exec(select(InboundMessage.outcome).where(InboundMessage.provider_sid == "SM-bea")).one() == \
        "joined: quorum formed"
    session.commit()
    assert form_after_join(session, outcome, provider_sid="SM-bea", received_at=at(1)).formed is False  # once only


def test_a_join_that_leaves_the_quorum_short_needs_no_second_step(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, need=2, now=NOW)
    roster.send_all()
    outcome = record_sms_reply(session, from_phone=roster.phone("Alex Green"), body="1", provider_sid="SM-alex",
                               received_at=at(1), form_quorum=False)
    assert outcome.outcome == "joined" and not outcome.check_quorum and not outcome.formed  # nothing to start after it


def test_a_join_whose_second_step_never_ran_is_formed_by_the_clock(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    request = create_request(session, sam.id, need=2, now=NOW)
    roster.send_all()
    for name in ("Alex Green", "Bea Hart"):  # e.g. the server died right after answering Twilio
        record_sms_reply(session, from_phone=roster.phone(name), body="1", provider_sid=f"SM-{name}",
                         received_at=at(1), form_quorum=False)
    assert advance(session, now=at(1, 2)) in ([], [f"request {request.id}: formed"])  # SQLite formed it already
    assert request_view(session, request.id).state == "formed"
