"""Phone scenarios without a public URL: replies are read by polling Twilio's Messages API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlmodel import select

from notify.clock import EscalationLoop
from notify.polling import CATCH_UP_LIMIT, InboxPoller, catch_up
from roster.models import Person
from roster.quorum.models import InboundMessage
from tests.notify.helpers import ask_for_quorum, invitation_states, request_state


def test_a_quorum_forms_through_polling(twilio, twilio_settings, team, phones, clock, new_session):
    loop = EscalationLoop(twilio_settings, new_session, clock=clock)  # what `diveboat poll --watch` turns
    assert loop.poller is not None  # credentials and no public URL: poll
    request_id = ask_for_quorum(new_session, team["Sam"], clock, need=2)
    loop.tick()
    a, b, c = [name for name, phone in phones.items() if phone.texts]

    phones[a].reply("join")
    phones[b].reply("can't, sorry")  # not understood: kept, and one help text
    phones[b].reply("2")
    assert loop.tick().polled.recorded == 3
    assert invitation_states(new_session, request_id, team) == {a: "joined", b: "declined", c: "sent"}
    assert phones[b].texts[-1].startswith("Dive Boat: sorry, we didn't understand.")

    clock.advance(minutes=3, seconds=1)
    loop.tick()  # voice for the silent one (no webhook: it reads the message, asks for an SMS), second wave
    (call,) = phones[c].calls
    assert ET.fromstring(call.twiml).find("Gather") is None
    second_wave = [n for n, p in phones.items() if n not in (a, b, c) and p.texts]
    assert len(second_wave) == 2 and "Sam" not in second_wave

    phones[c].reply("1")
    report = loop.tick()
    assert report.polled.recorded == 1 and request_state(new_session, request_id) == "formed"
    assert phones[a].last_text.startswith("Dive Boat: you're in.") and c in phones[a].last_text
    assert phones[c].last_text.startswith("Dive Boat: you're in.") and a in phones[c].last_text
    for name in second_wave:
        assert phones[name].last_text == "Dive Boat: thanks, the quorum for Sam is formed, no need to reply."
    assert phones["Sam"].last_text.startswith("Dive Boat: your quorum is formed")

    late = second_wave[0]
    phones[late].reply("1")
    loop.tick()
    assert phones[late].last_text == "Dive Boat: already formed, thanks. Sam's quorum has enough people."
    assert invitation_states(new_session, request_id, team)[late] == "stood_down"
    assert loop.tick().polled.recorded == 0  # nothing new, nothing re-read


def test_overlapping_pollers_record_each_reply_once(twilio, twilio_settings, team, phones, clock, new_session):
    ask_for_quorum(new_session, team["Sam"], clock)
    EscalationLoop(twilio_settings, new_session, clock=clock).tick()
    invitee = next(name for name, phone in phones.items() if phone.texts)
    phones[invitee].reply("1")
    phones["Fin"].reply("STOP")  # opt-out words count even with no invitation
    first, second = InboxPoller(twilio_settings, new_session), InboxPoller(twilio_settings, new_session)
    assert first.poll().recorded == 2
    second.poll()
    first.poll()
    with new_session() as session:
        rows = session.exec(select(InboundMessage)).all()
        assert sorted(row.body for row in rows) == ["1", "STOP"]
        assert session.get(Person, team["Fin"].id).sms_opt_out


def test_a_starting_server_catches_up_on_replies_sent_while_it_was_down(twilio, twilio_settings, team, phones, clock,
                                                                        new_session):
    """Webhooks sent while ``diveboat serve`` was down are lost on Twilio's side: the server reads
    what came since the last reply it recorded, once, as it starts."""
    request_id = ask_for_quorum(new_session, team["Sam"], clock, need=3)
    EscalationLoop(twilio_settings, new_session, clock=clock, poll=False).tick()
    a, b, c, d = [name for name, phone in phones.items() if phone.texts]
    phones[a].reply("1")
    assert catch_up(twilio_settings, new_session, now=clock()).recorded == 1  # a server started: Alex's 1
    phones[b].reply("1")  # the server is down (nothing posts these anywhere)
    phones[c].reply("yes")
    report = catch_up(twilio_settings, new_session, now=clock())
    assert report.recorded == 2  # Alex's reply was listed again (overlap) but counted once
    assert invitation_states(new_session, request_id, team) == {a: "joined", b: "joined", c: "joined", d: "stood_down"}
    assert request_state(new_session, request_id) == "formed"


def test_catching_up_reads_one_day_back_at_most(twilio, twilio_settings, team, phones, clock, new_session):
    ask_for_quorum(new_session, team["Sam"], clock)
    EscalationLoop(twilio_settings, new_session, clock=clock, poll=False).tick()
    invitee = next(phone for phone in phones.values() if phone.texts)
    invitee.reply("1")
    assert catch_up(twilio_settings, new_session, now=clock() + CATCH_UP_LIMIT + timedelta(minutes=5)).recorded == 0
    assert catch_up(twilio_settings, new_session, now=clock() + timedelta(hours=23)).recorded == 1
