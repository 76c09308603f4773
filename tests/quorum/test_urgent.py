"""Urgent requests: a first wave of need+4 texted and called at once, the next wave after 2 minutes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from roster.quorum import advance, create_request, record_delivery_status, request_view
from roster.quorum.models import Invitation, QuorumRequest
from roster.quorum.policy import DEFAULT_POLICY, policy_for, policy_for_request
from roster.settings import Settings
from tests.quorum.conftest import NOW

TEAM = ("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King", "Fin Lowe", "Gus Moss",
        "Hal Nye", "Ivy Oak", "Jo Penn", "Kit Quin")
OUTBOX_MODE = policy_for(Settings(db="sqlite://"))  # no Twilio credentials


def at(minutes, seconds=0):
    return NOW + timedelta(minutes=minutes, seconds=seconds)


def invited(session, request_id):
    return session.exec(select(Invitation).where(Invitation.request_id == request_id).order_by(Invitation.id)).all()


def test_an_urgent_request_texts_and_calls_need_plus_four_at_once(roster, session):
    sam, *_ = roster.team(*TEAM)
    request = create_request(session, sam.id, need=2, urgent=True, now=NOW)
    wave = ["Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King", "Fin Lowe"]
    sent = [(m.kind, roster.name_of(m.to_phone)) for m in roster.send_all()]
    assert sent == [("sms", name) for name in wave] + [("voice", name) for name in wave]
    assert {i.voice_called_at for i in invited(session, request.id)} == {NOW}
    assert session.get(QuorumRequest, request.id).urgent
    events = [e["text"] for e in request_view(session, request.id, now=NOW).events]
    assert events == ["Urgent: requested by Sam: 2 needed",
                      "Wave 1: invited Alex, Bea, Cal, Dee, Eve, Fin by SMS and voice"]
    assert advance(session, now=at(1, 59)) == []  # already called: nobody is called again


def test_an_urgent_request_invites_its_next_wave_after_two_minutes(roster, session):
    sam, *_ = roster.team(*TEAM)
    request = create_request(session, sam.id, need=2, urgent=True, now=NOW)
    roster.send_all()
    assert advance(session, now=at(1, 59)) == []
    assert advance(session, now=at(2)) == [f"request {request.id}: wave 2: Gus, Hal, Ivy, Jo, Kit"]
    queued = [(m.kind, roster.name_of(m.to_phone)) for m in roster.queued()]
    wave = ["Gus Moss", "Hal Nye", "Ivy Oak", "Jo Penn", "Kit Quin"]
    assert queued == [("sms", name) for name in wave] + [("voice", name) for name in wave]


def test_an_ordinary_request_is_unchanged(roster, session):
    sam, *_ = roster.team(*TEAM)
    request = create_request(session, sam.id, need=2, now=NOW)
    assert [(m.kind, roster.name_of(m.to_phone)) for m in roster.send_all()] == [
        ("sms", "Alex Green"), ("sms", "Bea Hart"), ("sms", "Cal Idris")]
    assert not session.get(QuorumRequest, request.id).urgent
    assert advance(session, now=at(2)) == []
    assert advance(session, now=at(3)) == [f"request {request.id}: calling Alex, Bea, Cal",
                                           f"request {request.id}: wave 2: Dee, Eve, Fin"]


def test_a_failed_urgent_invitation_is_replaced_by_a_text_and_a_call(roster, session):
    sam, *_ = roster.team(*TEAM)
    create_request(session, sam.id, need=2, urgent=True, now=NOW)
    alex = roster.send_all()[0]
    record_delivery_status(session, provider_sid=alex.provider_sid, status="undelivered", error_code="30003",
                           now=at(0, 20))
    assert [(m.kind, roster.name_of(m.to_phone)) for m in roster.queued()] == [("sms", "Gus Moss"), ("voice", "Gus Moss")]


def test_in_outbox_mode_an_urgent_request_only_texts_at_once(roster, session):
    sam, *_ = roster.team(*TEAM)
    request = create_request(session, sam.id, need=2, urgent=True, now=NOW, policy=OUTBOX_MODE)
    assert [m.kind for m in roster.to_outbox()] == ["sms"] * 6
    assert advance(session, now=at(2), policy=OUTBOX_MODE) == [f"request {request.id}: wave 2: Gus, Hal, Ivy, Jo, Kit"]


def test_the_urgent_policy_keeps_the_services_conference_number_and_deadline():
    service = DEFAULT_POLICY.with_conference_number("+447700900999")
    urgent = policy_for_request(service, QuorumRequest(requester_id=1, deadline_at=NOW, urgent=True))
    assert (urgent.extra_per_wave, urgent.voice_after, urgent.wave_interval) == (4, timedelta(0), timedelta(minutes=2))
    assert urgent.calls_at_once and not service.calls_at_once
    assert (urgent.conference_number, urgent.deadline_minutes) == ("+447700900999", service.deadline_minutes)
    assert policy_for_request(service, QuorumRequest(requester_id=1, deadline_at=NOW)) is service
    assert not OUTBOX_MODE.urgent().calls_at_once
    with_twilio = policy_for(Settings(db="sqlite://", twilio_account_sid="AC1", twilio_auth_token="t",
                                      twilio_from_number="+447700900999"))
    assert with_twilio.urgent().calls_at_once
