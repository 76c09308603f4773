"""A fake Twilio on 127.0.0.1: the REST API the real ``twilio`` client calls, plus phones.

:class:`FakeTwilio` is a real HTTP server (FastAPI under uvicorn, in a thread) that
speaks the parts of Twilio's 2010-04-01 API Dive Boat uses: create and list
``Messages.json``, create and update ``Calls.json``. It records what was sent, can
inject latency and error codes per number, and sends **signed** requests to our
server the way Twilio does (inbound SMS, status callbacks, voice webhooks and
``<Gather>`` digits), so tests read like scenarios of phones::

    alice = twilio.phone("+447700900001")
    assert "Reply 1 to join" in alice.last_text
    alice.reply("1")
"""

from tests.fake_twilio.fake import FakeTwilio, Phone
from tests.fake_twilio.resources import Call, Message
from tests.fake_twilio.server_thread import ServerThread

__all__ = ["Call", "FakeTwilio", "Message", "Phone", "ServerThread"]
