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
    mark_sent_many,
    record_delivery_status,
    request_view,
)
from roster.quorum.models import EarlyStatus, Invitation, OutboundMessage
from roster.quorum.outbox import anything_to_claim
from tests.quorum.conftest import NOW, counting


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


def test_anything_to_claim_says_whether_a_claim_would_find_a_message(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart")
    assert not anything_to_claim(session, now=NOW)
    create_request(session, sam.id, now=NOW)
    assert anything_to_claim(session, now=NOW)
    assert [m.status for m in claim_outbound(session, worker="w", now=NOW)] == ["sending", "sending"]
    assert not anything_to_claim(session, now=NOW + timedelta(minutes=1))
    assert anything_to_claim(session, now=NOW + timedelta(minutes=2, seconds=1))  # a stuck claim is taken back


def test_a_claim_returns_the_claimed_rows_oldest_first_as_they_were_claimed(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    first = claim_outbound(session, worker="one", limit=2, now=NOW)
    second = claim_outbound(session, worker="two", now=NOW)
    assert [m.id for m in first] == sorted(m.id for m in first) < [m.id for m in second]
    assert {(m.claimed_by, m.claimed_at) for m in first} == {("one", NOW)}
    assert [m.to_phone for m in first + second] == [roster.phone(n) for n in ("Alex Green", "Bea Hart", "Cal Idris")]


def test_delivery_callbacks_move_forward_only(roster, session):
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris")
    create_request(session, sam.id, now=NOW)
    [message, *_] = roster.send_all()
    assert invitation_of(session, message).state == "sent"
    record_delivery_status(session, provider_sid=message.provider_sid, status="delivered")
    record_delivery_status(session, provider_sid=message.provider_sid, status="sent")  # late, out of order
    assert session.get(OutboundMessage, message.id, populate_existing=True).status == "delivered"
    assert invitation_of(session, message).state == "delivered"
    record_delivery_status(session, provider_sid="SMunknown", status="delivered")  # kept until its message is sent
    record_delivery_status(session, provider_sid="SMunknown", status="nonsense")  # ignored
    assert [(e.provider_sid, e.status) for e in session.exec(select(EarlyStatus))] == [("SMunknown", "delivered")]


def test_a_status_that_comes_before_the_send_is_recorded_is_applied_then(roster, session):
    """Twilio may call back before it answers our send request (so before ``mark_sent`` knows the id)."""
    sam, *_ = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones")
    create_request(session, sam.id, now=NOW)
    [alex, bea, cal] = claim_outbound(session, worker="w", now=NOW)
    record_delivery_status(session, provider_sid="SMalex", status="delivered", now=NOW)
    record_delivery_status(session, provider_sid="SMalex", status="sent", now=NOW)  # out of order: delivered stays
    record_delivery_status(session, provider_sid="SMbea", status="undelivered", error_code="30003", now=NOW)
    assert (invitation_of(session, alex).state, invitation_of(session, bea).state) == ("queued", "queued")
    mark_sent_many(session, [(alex.id, "SMalex"), (bea.id, "SMbea"), (cal.id, "SMcal")], now=NOW)
    assert session.get(OutboundMessage, alex.id, populate_existing=True).status == "delivered"
    assert [invitation_of(session, m).state for m in (alex, bea, cal)] == ["delivered", "failed", "sent"]
    assert invitation_of(session, bea).error_text == "phone unreachable (switched off or no signal)"
    assert [roster.name_of(m.to_phone) for m in roster.queued()] == ["Dee Jones"]  # in place of Bea
    assert session.exec(select(EarlyStatus)).all() == []


def test_statuses_for_messages_never_sent_are_forgotten_after_a_day(roster, session):
    record_delivery_status(session, provider_sid="SMother", status="delivered", now=NOW)
    record_delivery_status(session, provider_sid="SMlater", status="sent", now=NOW + timedelta(days=1, minutes=1))
    assert [e.provider_sid for e in session.exec(select(EarlyStatus))] == ["SMlater"]


def test_many_sends_are_recorded_in_a_few_statements(roster, session, engine):
    team = roster.team(*(f"Worker{n:02d} Test" for n in range(12)))
    create_request(session, team[0].id, need=10, now=NOW)
    claimed = claim_outbound(session, worker="w", now=NOW)
    with counting(engine) as statements:
        mark_sent_many(session, [(m.id, f"SM{m.id}") for m in claimed], now=NOW)
    locks = 2 if engine.dialect.name == "postgresql" else 0  # provider ids, then the request
    assert len(claimed) == 11 and len(statements) <= 3 + locks, "\n".join(statements)
    rows = session.exec(select(OutboundMessage).execution_options(populate_existing=True)).all()
    assert {(m.status, m.provider_sid) for m in rows} == {("sent", f"SM{m.id}") for m in claimed}
    assert {invitation_of(session, m).state for m in claimed} == {"sent"}


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
