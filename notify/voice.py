"""TwiML documents for calls and webhook answers (built with the twilio library's TwiML classes)."""

from __future__ import annotations

import re

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

LANGUAGE = "en-GB"
JOIN_DIGIT = "1"
DECLINE_DIGIT = "2"
KEYPRESS_TIMEOUT_SECONDS = 6
NO_KEYPRESS = "We did not hear a key. Please reply to our text message instead: 1 to join, 2 if you can't. Goodbye."
MACHINE_MESSAGE = "This is Dive Boat. A colleague needs a reflective quorum now. Please check your text messages. Goodbye."
SMS_REPLY_PROMPT = "Please reply to our text message: 1 to join, 2 if you can't. Goodbye."
WRONG_KEY_HELP = "Sorry, that key does nothing here. Press 1 to join the quorum, or 2 if you can't."
WRONG_KEY_AGAIN = (
    "Sorry, that key does nothing here either. Please reply to our text message instead: "
    "1 to join, 2 if you can't. Goodbye."
)
_KEYPRESS_SENTENCE = re.compile(r"\s*Press 1\b[^.]*\.?\s*$")


def gather_twiml(script: str, action_url: str) -> str:
    """The call script read twice inside a one-digit ``<Gather>`` posting to ``action_url``."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=KEYPRESS_TIMEOUT_SECONDS)
    gather.say(script, language=LANGUAGE)
    gather.pause(length=1)
    gather.say(script, language=LANGUAGE)
    response.say(NO_KEYPRESS, language=LANGUAGE)
    response.hangup()
    return str(response)


def wrong_key_twiml(action_url: str) -> str:
    """After a first key other than 1 or 2: say what the keys mean and gather once more
    (``action_url`` should mark the retry, so a second wrong key ends the call)."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=KEYPRESS_TIMEOUT_SECONDS)
    gather.say(WRONG_KEY_HELP, language=LANGUAGE)
    response.say(NO_KEYPRESS, language=LANGUAGE)
    response.hangup()
    return str(response)


def wrong_key_again_twiml() -> str:
    """After a second wrong key: end politely, pointing to the text message."""
    return say_and_hang_up(WRONG_KEY_AGAIN)


def machine_twiml() -> str:
    """For an answering machine: a short message pointing to the SMS, then hang up."""
    return say_and_hang_up(MACHINE_MESSAGE)


def read_only_twiml(script: str) -> str:
    """Inline call when we have no public URL (no keypresses): read twice, ask for an SMS reply."""
    script = _KEYPRESS_SENTENCE.sub("", script).strip()
    response = VoiceResponse()
    response.say(script, language=LANGUAGE)
    response.pause(length=1)
    response.say(script, language=LANGUAGE)
    response.say(SMS_REPLY_PROMPT, language=LANGUAGE)
    response.hangup()
    return str(response)


def conference_twiml(intro: str, room: str) -> str:
    """Say ``intro``, then join the ``<Conference>`` named ``room``."""
    response = VoiceResponse()
    if intro:
        response.say(intro, language=LANGUAGE)
    dial = response.dial()
    dial.conference(room, start_conference_on_enter=True, end_conference_on_exit=False, beep="onEnter")
    return str(response)


def say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text, language=LANGUAGE)
    response.hangup()
    return str(response)


def empty_messaging_twiml() -> str:
    """The answer to an inbound SMS: no reply from TwiML (replies go out through the outbox)."""
    return str(MessagingResponse())
