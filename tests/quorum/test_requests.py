"""A request from first wave to formed, expired or cancelled, told as phone scenarios."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import select

from roster.models import Person, Role, Status
from roster.quorum import (
    QuorumError,
    cancel_request,
    conference_participants,
    create_request,
    queue_conference,
    record_sms_reply,
    request_view,
    save_next_step,
)
from roster.quorum.messages import fits_one_segment
from roster.quorum.models import Invitation, QuorumEvent
from roster.quorum.outbox import claim_outbound, mark_sent
from tests.quorum.conftest import NOW

TEAM = ["Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King"]


@pytest.fixture
def team(roster):
    return roster.team(*TEAM)


def reply(roster, name, body, *, sid=None, after=timedelta(minutes=1)):
    reply.count += 1
    return record_sms_reply(roster.session, from_phone=roster.phone(name), body=body,
                            provider_sid=sid or f"SMreply{reply.count}", received_at=NOW + after)


reply.count = 0


def states(session, request):
    """Each invitee's name and invitation state."""
    rows = session.exec(
        select(Person.name, Invitation.state).join(Invitation, Invitation.person_id == Person.id)
        .where(Invitation.request_id == request.id).order_by(Invitation.id)
    )
    return dict(rows.all())


def test_first_wave_is_need_plus_one_short_texts_without_the_reason(roster, team, session):
    case = roster.case("C-1042")
    request = create_request(session, team[0].id, case_reference="c-1042", reason="Mum's boyfriend is back",
                             now=NOW)
    assert request.case_id == case.id and request.deadline_at == NOW + timedelta(minutes=20)
    sent = roster.send_all()
    assert [roster.name_of(m.to_phone) for m in sent] == ["Alex Green", "Bea Hart", "Cal Idris"]
    body = sent[0].body
    assert body == "Dive Boat: Sam needs a reflective quorum now (case C-1042). Reply 1 to join or 2 if you can't. Code 3."
    assert all(fits_one_segment(m.body) and "boyfriend" not in m.body for m in sent)
    assert set(states(session, request).values()) == {"sent"}


def test_quorum_forms_joiners_confirmed_others_stood_down_late_join_thanked_once(roster, team, session):
    create_request(session, team[0].id, case_reference=None, now=NOW)
    roster.send_all()
    assert reply(roster, "Alex Green", "1").outcome == "joined"
    assert reply(roster, "Bea Hart", "2").outcome == "declined"
    assert roster.queued() == []  # no texts for answers before the quorum forms
    outcome = reply(roster, "Cal Idris", "Join")
    assert outcome.formed
    sent = {roster.name_of(m.to_phone): m.body for m in roster.send_all()}
    assert sent == {
        "Alex Green": "Dive Boat: you're in. Quorum formed for Sam with Cal. Sam will be in touch.",
        "Cal Idris": "Dive Boat: you're in. Quorum formed for Sam with Alex. Sam will be in touch.",
        "Sam Okafor": "Dive Boat: your quorum is formed: Alex and Cal.",
    }
    late = reply(roster, "Bea Hart", "1", after=timedelta(minutes=2))
    assert late.outcome == "late join: request already formed"
    assert reply(roster, "Bea Hart", "1", after=timedelta(minutes=3)).reply_text is None
    assert [roster.name_of(m.to_phone) for m in roster.send_all()] == ["Bea Hart"]
    assert roster.inbox("Bea Hart")[-1] == "Dive Boat: already formed, thanks. Sam's quorum has enough people."


def test_stand_down_for_those_reached_and_unsent_invitations_withdrawn(roster, team, session):
    request = create_request(session, team[0].id, need=1, now=NOW)  # wave of 2: Alex, Bea
    assert len(roster.queued()) == 2
    claimed = claim_outbound(session, worker="w", limit=1, now=NOW)
    mark_sent(session, claimed[0].id, "SM1", now=NOW)  # Alex's text went out, Bea's is still queued
    reply(roster, "Alex Green", "y")
    assert states(session, request) == {"Alex Green": "joined", "Bea Hart": "stood_down"}
    sent = roster.send_all()
    assert [(roster.name_of(m.to_phone), m.body.split(":")[1].strip()[:10]) for m in sent] == [
        ("Alex Green", "you're in."), ("Sam Okafor", "your quoru")]
    assert roster.inbox("Bea Hart") == []  # never invited, so never stood down


def test_a_later_answer_replaces_an_earlier_one(roster, team, session):
    request = create_request(session, team[0].id, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "1")
    reply(roster, "Alex Green", "no")
    reply(roster, "Bea Hart", "1")
    assert states(session, request)["Alex Green"] == "declined"
    assert reply(roster, "Alex Green", "ok").formed
    events = [e.text for e in session.exec(select(QuorumEvent).order_by(QuorumEvent.id))]
    assert "Alex declined (changed their answer)" in events


def test_codes_pick_between_several_open_invitations(roster, session):
    sam, alex, bea, cal, eve = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Eve King")
    first = create_request(session, sam.id, now=NOW)  # asks Alex, Bea, Cal with code 3
    second = create_request(session, eve.id, need=3, now=NOW + timedelta(seconds=5))  # Sam, Alex, Bea, Cal: code 4
    sent = roster.send_all()
    second_alex = next(m for m in sent if m.request_id == second.id and roster.name_of(m.to_phone) == "Alex Green")
    assert "Reply 1 4 to join or 2 4 if you can't." in second_alex.body
    reply(roster, "Alex Green", "3 1")  # code 3: Sam's request
    reply(roster, "Bea Hart", "join 4")  # code 4: Eve's request
    reply(roster, "Cal Idris", "2")  # bare answer: the most recent open invitation (Eve's)
    assert states(session, first) == {"Alex Green": "joined", "Bea Hart": "sent", "Cal Idris": "sent"}
    assert states(session, second) == {"Sam Okafor": "sent", "Alex Green": "sent", "Bea Hart": "joined", "Cal Idris": "declined"}


def test_unparseable_replies_are_kept_and_get_one_help_text(roster, team, session):
    request = create_request(session, team[0].id, case_reference=roster.case("C-7").reference, now=NOW)
    roster.send_all()
    first = reply(roster, "Alex Green", "on my way?")
    second = reply(roster, "Alex Green", "hello??")
    assert not first.understood and first.reply_text.startswith("Dive Boat: sorry, we didn't understand.")
    assert second.reply_text is None
    help_texts = [m for m in roster.send_all() if m.to_phone == roster.phone("Alex Green")]
    assert len(help_texts) == 1 and "reply 1 3 to join" in help_texts[0].body
    view = request_view(session, request.id, now=NOW)
    assert [u["body"] for u in view.unparsed] == ["hello??", "on my way?"]


def test_stop_opts_out_and_declines_start_opts_back_in_yes_joins(roster, team, session):
    request = create_request(session, team[0].id, now=NOW)
    roster.send_all()
    assert reply(roster, "Alex Green", "STOP").outcome == "opted out of SMS"
    assert roster.people["Alex Green"].sms_opt_out
    assert states(session, request)["Alex Green"] == "declined"
    reply(roster, "Alex Green", "start")
    session.refresh(roster.people["Alex Green"])
    assert not roster.people["Alex Green"].sms_opt_out
    roster.people["Bea Hart"].sms_opt_out = True
    session.add(roster.people["Bea Hart"])
    session.commit()
    assert reply(roster, "Bea Hart", "YES").outcome == "joined"
    session.refresh(roster.people["Bea Hart"])
    assert not roster.people["Bea Hart"].sms_opt_out


def test_duplicate_deliveries_count_once_and_strangers_are_recorded(roster, team, session):
    request = create_request(session, team[0].id, need=1, now=NOW)
    roster.send_all()
    assert reply(roster, "Alex Green", "1", sid="SMdup").formed
    assert reply(roster, "Alex Green", "1", sid="SMdup").duplicate
    stranger = record_sms_reply(session, from_phone="07700 900999", body="1", provider_sid="SMx", received_at=NOW)
    assert stranger.outcome == "unknown sender"
    assert len([m for m in roster.send_all() if m.to_phone == roster.phone("Alex Green")]) == 1
    assert request_view(session, request.id, now=NOW).joined == ["Alex Green"]


def test_metateam_places_are_filled_from_the_metateam(roster, team, session):
    roster.add("Dr Nadia Haddad", Role.METATEAM, consent=(2, time(9, 0), time(17, 0)))
    request = create_request(session, team[0].id, need=2, need_metateam=1, now=NOW)
    invited = [roster.name_of(m.to_phone) for m in roster.send_all()]
    assert invited == ["Dr Nadia Haddad", "Alex Green", "Bea Hart"]
    reply(roster, "Alex Green", "1")
    assert not reply(roster, "Bea Hart", "1").formed  # two joined, but no MetaTeam yet
    assert reply(roster, "Dr Nadia Haddad", "1").formed
    assert "Nadia" in request_view(session, request.id, now=NOW).events[-1]["text"]


def test_invalid_requests_are_refused_with_a_clear_message(roster, team, session):
    sam = team[0]
    with pytest.raises(QuorumError, match="between 1 and"):
        create_request(session, sam.id, need=0, now=NOW)
    with pytest.raises(QuorumError, match="--metateam must be between 0 and the number needed"):
        create_request(session, sam.id, need=2, need_metateam=3, now=NOW)
    with pytest.raises(QuorumError, match="no case with reference 'C-9'"):
        create_request(session, sam.id, case_reference="C-9", now=NOW)
    lonely = roster.add("Lone Wolf", status=Status.OFF)
    for person in team[1:]:
        person.active = False
        session.add(person)
    session.commit()
    with pytest.raises(QuorumError, match="nobody can be asked right now"):
        create_request(session, sam.id, now=NOW)
    assert lonely.id and session.exec(select(Invitation)).all() == []


def test_cancel_tells_people_reached_and_cannot_be_repeated(roster, team, session):
    request = create_request(session, team[0].id, now=NOW)
    roster.send_all()
    reply(roster, "Alex Green", "1")
    cancel_request(session, request.id, now=NOW + timedelta(minutes=2))
    assert states(session, request) == {"Alex Green": "joined", "Bea Hart": "stood_down", "Cal Idris": "stood_down"}
    told = {roster.name_of(m.to_phone) for m in roster.send_all()}
    assert told == {"Alex Green", "Bea Hart", "Cal Idris"}
    with pytest.raises(QuorumError, match="already cancelled"):
        cancel_request(session, request.id)
    assert reply(roster, "Bea Hart", "1", after=timedelta(minutes=3)).outcome == "late join: request already cancelled"


def test_conference_and_next_step_after_forming(roster, team, session):
    request = create_request(session, team[0].id, need=1, now=NOW)
    with pytest.raises(QuorumError, match="needs a formed quorum"):
        queue_conference(session, request.id, now=NOW)
    with pytest.raises(QuorumError, match="still open"):
        save_next_step(session, request.id, "ring the school", now=NOW)
    roster.send_all()
    reply(roster, "Bea Hart", "1")
    roster.send_all()
    calls = queue_conference(session, request.id, now=NOW + timedelta(minutes=2))
    assert [c.kind for c in calls] == ["conference", "conference"]
    assert conference_participants(session, request.id) == [roster.phone("Sam Okafor"), roster.phone("Bea Hart")]
    with pytest.raises(QuorumError, match="already being dialled"):
        queue_conference(session, request.id)
    saved = save_next_step(session, request.id, "Sam rings C-1042's school at 3pm", now=NOW + timedelta(minutes=20))
    assert saved.next_step == "Sam rings C-1042's school at 3pm" and saved.closed_at == NOW + timedelta(minutes=20)


def test_a_wrong_code_gets_help_and_old_closed_requests_are_not_answered(roster, team, session):
    request = create_request(session, team[0].id, need=1, now=NOW)
    roster.send_all()
    wrong = reply(roster, "Alex Green", "1 9")
    assert not wrong.understood and wrong.reply_text and wrong.invitation_id is not None
    assert states(session, request)["Alex Green"] == "sent"
    reply(roster, "Bea Hart", "1")
    late = record_sms_reply(session, from_phone=roster.phone("Alex Green"), body="1", provider_sid="SMnextday",
                            received_at=NOW + timedelta(days=1))
    assert late.outcome == "no open invitation for this sender" and late.reply_text is None


def test_request_ids_list_requests_in_the_same_order(roster, team, session):
    from roster.quorum.views import list_requests, request_ids

    made = [create_request(session, team[n].id, now=NOW + timedelta(minutes=minutes)).id
            for n, minutes in ((0, 5), (1, 1), (2, 9))]
    assert request_ids(session) == [r["id"] for r in list_requests(session)] == [made[2], made[0], made[1]]
    assert request_ids(session, limit=2) == [made[2], made[0]]
