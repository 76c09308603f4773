"""Phone scenarios through ``diveboat serve`` (uvicorn in a thread) with signed Twilio webhooks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.notify.helpers import ask_for_quorum, invitation_states, request_state, unsent, wait_for


def test_a_quorum_forms_by_sms_and_voice_and_the_rest_are_stood_down(serve, twilio, team, phones, clock, new_session):
    serve()
    request_id = ask_for_quorum(new_session, team["Sam"], clock, need=2, case_reference=None)
    wait_for(lambda: unsent(new_session) == 0, "the first wave to be sent")
    invited = [name for name, phone in phones.items() if phone.texts]
    assert len(invited) == 3 and "Sam" not in invited
    a, b, c = invited
    for name in invited:
        assert phones[name].texts == [phones[name].last_text]
        assert phones[name].last_text.startswith("Dive Boat: Sam needs a reflective quorum now.")
        assert "Reply 1 to join or 2 if you can't." in phones[name].last_text

    twilio.deliver_statuses()
    assert set(invitation_states(new_session, request_id, team).values()) == {"delivered"}

    phones[a].reply("1")
    phones[b].reply("2")
    assert invitation_states(new_session, request_id, team) == {a: "joined", b: "declined", c: "delivered"}

    clock.advance(minutes=3, seconds=1)  # nobody else answered: call the silent one, invite a second wave
    wait_for(lambda: phones[c].calls and len(twilio.sent_messages()) == 5 and unsent(new_session) == 0,
             f"a voice call to {c} and a second wave")
    second_wave = [n for n, p in phones.items() if n not in invited and p.texts]
    assert "Sam" not in second_wave and len(second_wave) == 2

    call = phones[c].calls[0]
    assert call.url == f"{serve_url(twilio)}/twilio/voice?invitation={invitation_id(new_session, request_id, team, c)}"
    twiml = phones[c].answer()
    assert "<Gather" in twiml and "Press 1 to join" in twiml
    after = phones[c].press("1")
    assert "you have joined" in after

    wait_for(lambda: request_state(new_session, request_id) == "formed", "the quorum to form (after the answer)")
    wait_for(lambda: unsent(new_session) == 0 and all(len(phones[n].texts) == 2 for n in (a, c, *second_wave)),
             "confirmations and stand-downs")
    for joiner, other in ((a, c), (c, a)):
        assert phones[joiner].last_text.startswith("Dive Boat: you're in. Quorum formed for Sam")
        assert other in phones[joiner].last_text
    for name in second_wave:
        assert phones[name].last_text == "Dive Boat: thanks, the quorum for Sam is formed, no need to reply."
    assert phones[b].texts == phones[b].texts[:1]  # the decliner hears nothing more
    assert phones["Sam"].texts and phones["Sam"].last_text.startswith("Dive Boat: your quorum is formed")
    states = invitation_states(new_session, request_id, team)
    assert states == {a: "joined", b: "declined", c: "joined", **{n: "stood_down" for n in second_wave}}

    # No other messages were sent: one invitation each, one call, the closing texts.
    texts = {name: len(phone.texts) for name, phone in phones.items()}
    assert texts == {"Sam": 1, a: 2, b: 1, c: 2, **{n: 2 for n in second_wave}, **{n: 0 for n in phones if n not in
                     ("Sam", a, b, c, *second_wave)}}
    assert [call.to for call in twilio.calls] == [phones[c].number]


def serve_url(twilio) -> str:
    return twilio.sms_webhook.removesuffix("/twilio/sms")


def invitation_id(new_session, request_id, team, name) -> int:
    from sqlmodel import select

    from roster.quorum.models import Invitation

    with new_session() as session:
        return session.exec(
            select(Invitation.id).where(Invitation.request_id == request_id, Invitation.person_id == team[name].id)
        ).one()


def test_a_wrong_key_gets_the_keys_explained_once_then_a_pointer_to_the_texts(serve, twilio, team, phones, clock,
                                                                              new_session):
    serve()
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    wait_for(lambda: unsent(new_session) == 0 and sum(bool(p.texts) for p in phones.values()) == 3, "the first wave")
    a, b, _ = [name for name, phone in phones.items() if phone.texts]
    clock.advance(minutes=3, seconds=1)
    wait_for(lambda: phones[a].calls and phones[b].calls, "calls to the silent invitees")

    phones[a].answer()
    help_twiml = phones[a].press("9")
    assert _spoken_in_gather(help_twiml) == ["Sorry, that key does nothing here. Press 1 to join the quorum, or 2 if you can't."]
    assert _spoken_after_gather(help_twiml)[0].startswith("We did not hear a key. Please reply to our text message")
    assert "you have joined" in phones[a].press("1")  # the second chance counts

    phones[b].answer()
    phones[b].press("*")
    goodbye = phones[b].press("0")
    assert "<Gather" not in goodbye and goodbye.rstrip().endswith("<Hangup /></Response>")
    assert _spoken_after_gather(goodbye) == [
        "Sorry, that key does nothing here either. Please reply to our text message instead: "
        "1 to join, 2 if you can't. Goodbye."
    ]
    states = invitation_states(new_session, request_id, team)
    assert states[a] == "joined" and states[b] not in ("joined", "declined")  # wrong keys change nothing



def _spoken_in_gather(twiml: str) -> list[str]:
    """What the call says while waiting for a key."""
    return [say.text for say in ET.fromstring(twiml).findall("Gather/Say")]


def _spoken_after_gather(twiml: str) -> list[str]:
    """What the call says outside the ``<Gather>`` (when no key comes, or with no Gather at all)."""
    return [say.text for say in ET.fromstring(twiml).findall("Say")]
