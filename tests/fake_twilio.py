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

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import format_datetime
from urllib.parse import urlencode, urljoin

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN_WORDS = {"START", "UNSTOP", "YES"}
ERROR_MESSAGES = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}


class ServerThread:
    """Run an ASGI app under uvicorn in a daemon thread on a free port of 127.0.0.1.

    The port is bound at once, so ``url`` is known before the app is built (e.g. to
    put it into the app's settings as the public URL); pass the app to :meth:`start`.
    """

    def __init__(self, app=None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, app=None) -> ServerThread:
        self.app = app or self.app
        if self.app is None:
            raise ValueError("give the ASGI app to run")
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, backlog=4096)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc))


def _parse_filter_time(text: str) -> datetime:
    """``DateSent>`` values: a date (``2027-03-01``) or a UTC time (``2027-03-01T09:00:00Z``)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Message:
    """One SMS as the fake recorded it (outbound from our number, or inbound to it)."""

    sid: str
    to: str
    from_: str
    body: str
    direction: str  # "outbound-api" or "inbound"
    date_sent: datetime
    status: str = "queued"
    status_callback: str | None = None
    error_code: int | None = None
    callbacks_sent: list[str] = field(default_factory=list)

    def resource(self, account_sid: str) -> dict:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_sent),
            "date_sent": _rfc2822(self.date_sent),
            "date_updated": _rfc2822(self.date_sent),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": ERROR_MESSAGES.get(self.error_code) if self.error_code else None,
            "from": self.from_,
            "to": self.to,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "GBP",
            "status": self.status,
            "subresource_uris": {},
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class Call:
    """One outbound call: the webhook URL or inline TwiML it was created with, and what was heard."""

    sid: str
    to: str
    from_: str
    url: str | None
    twiml: str | None
    machine_detection: str | None
    status_callback: str | None
    created_at: datetime
    status: str = "queued"
    updates: list[dict] = field(default_factory=list)
    documents: list[tuple[str, str]] = field(default_factory=list)  # (url it came from, TwiML)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # what Twilio posted to us

    @property
    def heard(self) -> list[str]:
        """Everything ``<Say>`` said on this call so far, in order."""
        return [element.text or "" for _, twiml in self.documents for element in ET.fromstring(twiml).iter("Say")]

    def resource(self, account_sid: str) -> dict:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "date_created": _rfc2822(self.created_at),
            "date_updated": _rfc2822(self.created_at),
            "direction": "outbound-api",
            "from": self.from_,
            "to": self.to,
            "status": self.status,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Calls/{self.sid}.json",
            "subresource_uris": {},
        }


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
        self._in_flight = 0
        self._phones: dict[str, Phone] = {}
        self._lock = threading.Lock()
        self._server = ServerThread(self._build_app())
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
        with self._lock:
            return self._phones.setdefault(number, Phone(self, number))

    def sent_messages(self) -> list[Message]:
        with self._lock:
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
        message = Message(sid=_sid("SM"), to=self.number, from_=from_number, body=body,
                          direction="inbound", date_sent=self._now(), status="received")
        word = body.strip().upper()
        with self._lock:
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
        with self._lock:
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

    # -- the REST API --------------------------------------------------------------------
    @staticmethod
    def _now() -> datetime:
        return datetime.now(timezone.utc)

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        prefix = f"/{API_VERSION}/Accounts/{{account}}"

        @app.middleware("http")
        async def count_and_check(request: Request, call_next):
            with self._lock:
                self.api_requests += 1
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                if not self._authorised(request):
                    return _error(401, 20003, "Authenticate")
                return await call_next(request)
            finally:
                with self._lock:
                    self._in_flight -= 1

        @app.post(prefix + "/Messages.json")
        async def create_message(request: Request):
            form = await request.form()
            to = str(form.get("To", ""))
            phone = self.phone(to)
            await asyncio.sleep(phone.latency or self.default_latency)
            if not to.startswith("+") or not to[1:].isdigit():
                return _error(400, 21211, ERROR_MESSAGES[21211])
            if phone.reject_code or phone.opted_out:
                code = phone.reject_code or 21610
                return _error(400, code, ERROR_MESSAGES.get(code, "Rejected"))
            message = Message(sid=_sid("SM"), to=to, from_=str(form.get("From", "")),
                              body=str(form.get("Body", "")), direction="outbound-api",
                              date_sent=self._now(), status_callback=form.get("StatusCallback"))
            with self._lock:
                self.messages.append(message)
            return JSONResponse(message.resource(self.account_sid), status_code=201)

        @app.get(prefix + "/Messages.json")
        async def list_messages(request: Request):
            query = request.query_params
            with self._lock:
                found = list(reversed(self.messages))  # newest first, as Twilio lists them
            if "To" in query:
                found = [m for m in found if m.to == query["To"]]
            if "From" in query:
                found = [m for m in found if m.from_ == query["From"]]
            if "DateSent>" in query:
                after = _parse_filter_time(query["DateSent>"])
                found = [m for m in found if m.date_sent >= after]
            if "DateSent<" in query:
                before = _parse_filter_time(query["DateSent<"])
                found = [m for m in found if m.date_sent <= before]
            page_size = int(query.get("PageSize", 50))
            page = int(query.get("Page", 0))
            chunk = found[page * page_size:(page + 1) * page_size]
            base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
            keep = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}

            def page_uri(number: int) -> str:
                return base + "?" + urlencode(keep | {"Page": number, "PageToken": f"PA{number}"})

            more = (page + 1) * page_size < len(found)
            return {
                "messages": [m.resource(self.account_sid) for m in chunk],
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "previous_page_uri": page_uri(page - 1) if page else None,
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": page * page_size + len(chunk) - 1,
                "uri": page_uri(page),
            }

        @app.post(prefix + "/Calls.json")
        async def create_call(request: Request):
            form = await request.form()
            to = str(form.get("To", ""))
            phone = self.phone(to)
            await asyncio.sleep(phone.latency or self.default_latency)
            if not to.startswith("+") or not to[1:].isdigit():
                return _error(400, 21211, ERROR_MESSAGES[21211])
            if phone.reject_code:
                return _error(400, phone.reject_code, ERROR_MESSAGES.get(phone.reject_code, "Rejected"))
            if not form.get("Url") and not form.get("Twiml"):
                return _error(400, 21205, "Url or Twiml is required")
            call = Call(sid=_sid("CA"), to=to, from_=str(form.get("From", "")), url=form.get("Url"),
                        twiml=form.get("Twiml"), machine_detection=form.get("MachineDetection"),
                        status_callback=form.get("StatusCallback"), created_at=self._now())
            with self._lock:
                self.calls.append(call)
            return JSONResponse(call.resource(self.account_sid), status_code=201)

        @app.post(prefix + "/Calls/{call_sid}.json")
        async def update_call(call_sid: str, request: Request):
            form = await request.form()
            with self._lock:
                call = next((c for c in self.calls if c.sid == call_sid), None)
            if call is None:
                return _error(404, 20404, "The requested resource was not found")
            call.updates.append(dict(form))
            if form.get("Status"):
                call.status = str(form["Status"])
            return call.resource(self.account_sid)

        return app

    def _authorised(self, request: Request) -> bool:
        token = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        parts = request.url.path.split("/")
        account = parts[3] if len(parts) > 3 else ""
        return request.headers.get("Authorization") == f"Basic {token}" and account == self.account_sid


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


def main() -> None:
    """``python -m tests.fake_twilio [LATENCY]``: serve a fake Twilio in its own process (benchmarks).

    Prints one JSON line with ``api_url``, ``account_sid``, ``auth_token`` and ``number``,
    then serves until stdin closes.
    """
    import json
    import sys

    fake = FakeTwilio().start()
    fake.default_latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    print(json.dumps({"api_url": fake.api_url, "account_sid": fake.account_sid, "auth_token": fake.auth_token,
                      "number": fake.number}), flush=True)
    sys.stdin.read()
    fake.stop()


if __name__ == "__main__":
    main()
