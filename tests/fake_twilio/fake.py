"""The fake Twilio and the phones it reaches."""

from __future__ import annotations

import secrets
import threading
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import httpx
from twilio.request_validator import RequestValidator

from tests.fake_twilio.resources import API_VERSION, OPT_IN_WORDS, OPT_OUT_WORDS, Call, Message, new_sid, utc_now
from tests.fake_twilio.rest_api import build_app
from tests.fake_twilio.server_thread import ServerThread


class Phone:
    """A person's phone: what reached it, how it misbehaves, and how it answers."""

    def __init__(self, twilio: FakeTwilio, number: str) -> None:
        self.twilio = twilio
        self.number = number
        self.latency = 0.0
        self.reject_code: int | None = None  # refused at once by the API (e.g. 21610, 21614)
        self.undelivered_code: int | None = None  # accepted, then fails in the network (e.g. 30003)
        self.opted_out = False

    @property
    def texts(self) -> list[str]:
        """Bodies of the SMS this phone received, oldest first."""
        return [m.body for m in self.twilio.sent_messages() if m.to == self.number]

    @property
    def last_text(self) -> str:
        texts = self.texts
        assert texts, f"{self.number} received no SMS"
        return texts[-1]

    @property
    def calls(self) -> list[Call]:
        return [c for c in self.twilio.calls if c.to == self.number]

    def reply(self, body: str) -> str:
        """Send an SMS to our Twilio number; returns its MessageSid."""
        return self.twilio.receive_sms(self.number, body)

    def answer(self, *, answered_by: str = "human", call: Call | None = None) -> str:
        """Pick up the latest call: Twilio fetches its TwiML (signed) and this returns it."""
        call = call or self._latest_call()
        call.status = "in-progress"
        if call.url is None:
            call.documents.append(("", call.twiml or ""))
            return call.twiml or ""
        params = self._call_params(call)
        if call.machine_detection:
            params["AnsweredBy"] = answered_by
        return self._fetch_twiml(call, call.url, params)

    def press(self, digits: str, *, call: Call | None = None) -> str:
        """Press keys during the latest call's ``<Gather>``; returns the TwiML that follows."""
        call = call or self._latest_call()
        assert call.documents, "answer the call before pressing keys"
        document_url, twiml = call.documents[-1]
        gather = ET.fromstring(twiml).find("Gather")
        assert gather is not None, f"the call is not gathering digits: {twiml}"
        action = urljoin(document_url, gather.get("action") or document_url)
        params = self._call_params(call) | {"Digits": digits, "FinishedOnKey": ""}
        return self._fetch_twiml(call, action, params)

    def _latest_call(self) -> Call:
        calls = self.calls
        assert calls, f"{self.number} received no call"
        return calls[-1]

    def _call_params(self, call: Call) -> dict[str, str]:
        return {
            "AccountSid": self.twilio.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }

    def _fetch_twiml(self, call: Call, url: str, params: dict[str, str]) -> str:
        call.requests.append((url, params))
        response = self.twilio.post_signed(url, params)
        response.raise_for_status()
        call.documents.append((url, response.text))
        return response.text


class FakeTwilio:
    """The fake Twilio REST API plus the phones it reaches; use as a context manager."""

    def __init__(self, *, account_sid: str | None = None, auth_token: str | None = None,
                 number: str = "+447700900000") -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.number = number
        self.sms_webhook: str | None = None  # where inbound SMS are posted (None: polling only)
        self.default_latency = 0.0
        self.messages: list[Message] = []
        self.calls: list[Call] = []
        self.api_requests = 0
        self.max_in_flight = 0
        self.in_flight = 0
        self._phones: dict[str, Phone] = {}
        self.lock = threading.Lock()
        self._server = ServerThread(build_app(self))
        self._http = httpx.Client(timeout=30)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """What ``DIVEBOAT_TWILIO_API_URL`` should be set to."""
        return self._server.url

    def settings_env(self) -> dict[str, str]:
        """Environment variables pointing Dive Boat at this fake."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.number,
            "DIVEBOAT_TWILIO_API_URL": self.api_url,
        }

    def start(self) -> FakeTwilio:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._http.close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- phones and what they saw --------------------------------------------------------
    def phone(self, number: str) -> Phone:
        with self.lock:
            return self._phones.setdefault(number, Phone(self, number))

    def sent_messages(self) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.direction == "outbound-api"]

    def sent_to(self) -> list[str]:
        """Recipients of every outbound SMS and call, in order (duplicates kept)."""
        return [m.to for m in self.sent_messages()] + [c.to for c in self.calls]

    # -- signed requests to our server ---------------------------------------------------
    def sign(self, url: str, params: dict[str, str]) -> str:
        """The ``X-Twilio-Signature`` Twilio would send for a form POST to ``url``."""
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def post_signed(self, url: str, params: dict[str, str], *, signature: str | None = None) -> httpx.Response:
        """POST a form to our server as Twilio does (``signature`` overrides, to forge one)."""
        headers = {"X-Twilio-Signature": self.sign(url, params) if signature is None else signature}
        return self._http.post(url, data=params, headers=headers)

    def receive_sms(self, from_number: str, body: str) -> str:
        """An SMS arrives at our number: stored for listing, and posted to ``sms_webhook``."""
        message = Message(sid=new_sid("SM"), to=self.number, from_=from_number, body=body,
                          direction="inbound", date_sent=utc_now(), status="received")
        word = body.strip().upper()
        with self.lock:
            self.messages.append(message)
            phone = self._phones.setdefault(from_number, Phone(self, from_number))
            if word in OPT_OUT_WORDS:
                phone.opted_out = True
            elif word in OPT_IN_WORDS:
                phone.opted_out = False
        if self.sms_webhook:
            try:
                self.post_inbound(message)
            except httpx.TransportError:  # our server is down: Twilio logs error 11200 and moves on
                message.callbacks_sent.append("unreachable")
        return message.sid

    def post_inbound(self, message: Message, *, signature: str | None = None) -> httpx.Response:
        """(Re)deliver an inbound SMS webhook, e.g. to test duplicate deliveries."""
        assert self.sms_webhook, "set sms_webhook first"
        params = {
            "AccountSid": self.account_sid, "ApiVersion": API_VERSION, "Body": message.body,
            "From": message.from_, "FromCountry": "GB", "MessageSid": message.sid, "NumMedia": "0",
            "NumSegments": "1", "SmsMessageSid": message.sid, "SmsSid": message.sid,
            "SmsStatus": "received", "To": message.to, "ToCountry": "GB",
        }
        response = self.post_signed(self.sms_webhook, params, signature=signature)
        message.callbacks_sent.append(str(response.status_code))
        return response

    def inbound(self, sid: str) -> Message:
        with self.lock:
            return next(m for m in self.messages if m.sid == sid)

    def deliver_statuses(self) -> int:
        """Send the final status callback of every outbound SMS not yet reported.

        Messages to a phone with ``undelivered_code`` report ``undelivered`` with that
        ``ErrorCode``; the rest ``delivered``. Returns how many callbacks were sent.
        """
        sent = 0
        for message in self.sent_messages():
            if message.status not in ("queued", "sent") or not message.status_callback:
                continue
            code = self.phone(message.to).undelivered_code
            message.status = "undelivered" if code else "delivered"
            message.error_code = code
            self.post_status(message)
            sent += 1
        return sent

    def post_status(self, message: Message) -> httpx.Response:
        """(Re)send ``message``'s status callback with its current status."""
        params = {
            "AccountSid": self.account_sid, "ApiVersion": API_VERSION, "From": message.from_,
            "MessageSid": message.sid, "MessageStatus": message.status, "SmsSid": message.sid,
            "SmsStatus": message.status, "To": message.to,
        }
        if message.error_code:
            params["ErrorCode"] = str(message.error_code)
        response = self.post_signed(message.status_callback, params)
        message.callbacks_sent.append(message.status)
        return response

    def end_call(self, call: Call, status: str = "completed") -> httpx.Response | None:
        """The call ends (``completed``, ``no-answer``, ``busy``, ``failed``): status callback."""
        call.status = status
        if not call.status_callback:
            return None
        params = {
            "AccountSid": self.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
            "CallStatus": status, "Direction": "outbound-api", "From": call.from_, "To": call.to,
        }
        return self.post_signed(call.status_callback, params)
