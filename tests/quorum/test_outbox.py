"""The send queue notify uses: claims, results, delivery callbacks, failures replaced."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from roster.quorum import (
    claim_outbound,
    create_request,
    describe_twilio_error,
    mark_failed,
    mark_outbox,
    mark_sent,
    record_delivery_status,
    request_view,
)
from roster.quorum.models import Invitation, OutboundMessage
from tests.quorum.conftest import NOW


def invitation_of(session, message):
    return session.get(Invitation, message.invitation_id, populate_existing=True)


def test_claims_are_exclusive_and_stuck_claims_are_taken_back(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    first = claim_outbound(session, worker="one", limit=2, now=NOW)
    second = claim_outbound(session, worker="two", now=NOW)
    assert [m.status for m in first + second] == ["sending"] * 3
    assert {m.claimed_by for m in first} == {"one"} and {m.claimed_by for m in second} == {"two"}
    assert claim_outbound(session, worker="three", now=NOW + timedelta(minutes=1)) == []
    mark_sent(session, first[0].id, "SM1", now=NOW)
    retaken = claim_outbound(session, worker="three", now=NOW + timedelta(minutes=2, seconds=1))
    assert sorted(m.id for m in retaken) == sorted([first[1].id, second[0].id])


def test_delivery_callbacks_move_forward_only(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    [message, *_] = roster.send_all()
    assert invitation_of(session, message).state == "sent"
    record_delivery_status(session, provider_sid=message.provider_sid, status="delivered")
    record_delivery_status(session, provider_sid=message.provider_sid, status="sent")  # late, out of order
    assert session.get(OutboundMessage, message.id, populate_existing=True).status == "delivered"
    assert invitation_of(session, message).state == "delivered"
    record_delivery_status(session, provider_sid="SMunknown", status="delivered")  # ignored


def test_a_failed_invitation_is_replaced_by_the_next_candidate(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones")
    request = create_request(session, sam.id, now=NOW)
    [alex, *_] = roster.send_all()
    record_delivery_status(session, provider_sid=alex.provider_sid, status="undelivered", error_code="30003",
                           now=NOW + timedelta(seconds=20))
    failed = invitation_of(session, alex)
    assert (failed.state, failed.error_code, failed.error_text) == (
        "failed", "30003", "phone unreachable (switched off or no signal)")
    [replacement] = roster.queued()
    assert roster.name_of(replacement.to_phone) == "Dee Jones"
    assert invitation_of(session, replacement).wave == 1
    record_delivery_status(session, provider_sid=alex.provider_sid, status="failed", error_code="30003")
    assert len(roster.queued()) == 1  # a repeated callback replaces nobody else
    events = [e["text"] for e in request_view(session, request.id, now=NOW).events]
    assert events[-2:] == ["Invitation to Alex failed: phone unreachable (switched off or no signal)",
                           "In place of Alex: invited Dee by SMS"]


def test_opted_out_error_marks_the_person_and_voice_failures_keep_the_invitation(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    [alex, bea, _] = claim_outbound(session, worker="w", now=NOW)
    mark_failed(session, alex.id, 21610, None, now=NOW)
    session.refresh(roster.people["Alex Green"])
    assert roster.people["Alex Green"].sms_opt_out
    assert invitation_of(session, alex).error_text == "this number has opted out (they texted STOP)"
    mark_sent(session, bea.id, "SMbea", now=NOW)
    voice = OutboundMessage(kind="voice", to_phone=bea.to_phone, body="call", request_id=bea.request_id,
                            invitation_id=bea.invitation_id, status="sent", provider_sid="CA1", created_at=NOW)
    session.add(voice)
    session.commit()
    record_delivery_status(session, provider_sid="CA1", status="no-answer")
    assert session.get(OutboundMessage, voice.id, populate_existing=True).error_text == "the call was not answered"
    assert invitation_of(session, bea).state == "sent"


def test_outbox_mode_keeps_messages_visible_and_invitations_sent(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    claimed = claim_outbound(session, worker="w", now=NOW)
    mark_outbox(session, [m.id for m in claimed], now=NOW)
    rows = session.exec(select(OutboundMessage).execution_options(populate_existing=True)).all()
    assert {m.status for m in rows} == {"outbox"}
    assert {invitation_of(session, m).state for m in rows} == {"sent"}


def test_twilio_errors_in_words():
    assert describe_twilio_error(21610) == "this number has opted out (they texted STOP)"
    assert describe_twilio_error("30003") == "phone unreachable (switched off or no signal)"
    assert describe_twilio_error("21211") == "not a valid phone number"
    assert describe_twilio_error(99999) == "Twilio error 99999"
    assert describe_twilio_error(None) == "delivery failed"
