"""TwiML for quorum calls: a one-key Gather read twice, answering machines, conferences."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from notify.voice import conference_twiml, gather_twiml, machine_twiml, read_only_twiml

SCRIPT = "This is Dive Boat. Sam needs a reflective quorum now, for case C 1 0 4 2. Press 1 to join, or 2 if you can't."


def said(twiml: str) -> list[str]:
    return [element.text for element in ET.fromstring(twiml).iter("Say")]


def test_gather_asks_for_one_key_posts_to_the_action_and_repeats_the_message_once():
    action = "https://diveboat.example.org/twilio/voice?invitation=7"
    document = ET.fromstring(gather_twiml(SCRIPT, action))
    gather = document.find("Gather")
    assert (gather.get("numDigits"), gather.get("action"), gather.get("method")) == ("1", action, "POST")
    assert [say.text for say in gather.iter("Say")] == [SCRIPT, SCRIPT]
    assert "reply to our text message" in document.findall("Say")[-1].text
    assert document[-1].tag == "Hangup"


def test_answering_machine_gets_a_short_pointer_to_the_sms():
    assert said(machine_twiml()) == [
        "This is Dive Boat. A colleague needs a reflective quorum now. Please check your text messages. Goodbye."
    ]


def test_without_a_webhook_the_call_reads_the_message_and_asks_for_an_sms_reply():
    twiml = read_only_twiml(SCRIPT)
    assert ET.fromstring(twiml).find("Gather") is None
    assert "Press 1" not in twiml
    assert said(twiml)[:2] == ["This is Dive Boat. Sam needs a reflective quorum now, for case C 1 0 4 2."] * 2
    assert said(twiml)[-1].startswith("Please reply to our text message: 1 to join, 2 if you can't.")


def test_conference_dials_into_the_named_room():
    document = ET.fromstring(conference_twiml("Joining you to Sam's quorum.", "diveboat-quorum-3"))
    assert document.find("Say").text == "Joining you to Sam's quorum."
    assert document.find("Dial/Conference").text == "diveboat-quorum-3"
