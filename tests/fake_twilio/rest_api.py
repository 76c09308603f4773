"""The fake Twilio's REST API: create/list ``Messages.json``, create/update ``Calls.json``."""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fake_twilio.resources import (
    API_VERSION,
    ERROR_MESSAGES,
    Call,
    Message,
    api_error,
    new_sid,
    parse_filter_time,
    utc_now,
)

if TYPE_CHECKING:
    from tests.fake_twilio.fake import FakeTwilio


class CountAndCheck:
    """Counts API requests (and those in flight at once) and refuses wrong credentials, as
    Twilio does. A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (a task and a
    memory stream per request) cost the fake as much CPU as its endpoints under load."""

    def __init__(self, app, fake: FakeTwilio) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fake = self.fake
        with fake.lock:
            fake.api_requests += 1
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if _authorised(fake, Request(scope)):
                await self.app(scope, receive, send)
            else:
                await api_error(401, 20003, "Authenticate")(scope, receive, send)
        finally:
            with fake.lock:
                fake.in_flight -= 1


def build_app(fake: FakeTwilio) -> FastAPI:
    """The REST endpoints, recording into ``fake``."""
    app = FastAPI()
    prefix = f"/{API_VERSION}/Accounts/{{account}}"

    app.add_middleware(CountAndCheck, fake=fake)

    @app.post(prefix + "/Messages.json")
    async def create_message(request: Request):
        form = await request.form()
        to = str(form.get("To", ""))
        phone = fake.phone(to)
        await asyncio.sleep(phone.latency or fake.default_latency)
        if not to.startswith("+") or not to[1:].isdigit():
            return api_error(400, 21211, ERROR_MESSAGES[21211])
        if phone.reject_code or phone.opted_out:
            code = phone.reject_code or 21610
            return api_error(400, code, ERROR_MESSAGES.get(code, "Rejected"))
        message = Message(sid=new_sid("SM"), to=to, from_=str(form.get("From", "")),
                          body=str(form.get("Body", "")), direction="outbound-api",
                          date_sent=utc_now(), status_callback=form.get("StatusCallback"))
        with fake.lock:
            fake.messages.append(message)
        return JSONResponse(message.resource(fake.account_sid), status_code=201)

    @app.get(prefix + "/Messages.json")
    async def list_messages(request: Request):
        query = request.query_params
        with fake.lock:
            found = list(reversed(fake.messages))  # newest first, as Twilio lists them
        if "To" in query:
            found = [m for m in found if m.to == query["To"]]
        if "From" in query:
            found = [m for m in found if m.from_ == query["From"]]
        if "DateSent>" in query:
            after = parse_filter_time(query["DateSent>"])
            found = [m for m in found if m.date_sent >= after]
        if "DateSent<" in query:
            before = parse_filter_time(query["DateSent<"])
            found = [m for m in found if m.date_sent <= before]
        page_size = int(query.get("PageSize", 50))
        page = int(query.get("Page", 0))
        chunk = found[page * page_size:(page + 1) * page_size]
        base = f"/{API_VERSION}/Accounts/{fake.account_sid}/Messages.json"
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}

        def page_uri(number: int) -> str:
            return base + "?" + urlencode(keep | {"Page": number, "PageToken": f"PA{number}"})

        more = (page + 1) * page_size < len(found)
        return {
            "messages": [m.resource(fake.account_sid) for m in chunk],
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
        phone = fake.phone(to)
        await asyncio.sleep(phone.latency or fake.default_latency)
        if not to.startswith("+") or not to[1:].isdigit():
            return api_error(400, 21211, ERROR_MESSAGES[21211])
        if phone.reject_code:
            return api_error(400, phone.reject_code, ERROR_MESSAGES.get(phone.reject_code, "Rejected"))
        if not form.get("Url") and not form.get("Twiml"):
            return api_error(400, 21205, "Url or Twiml is required")
        call = Call(sid=new_sid("CA"), to=to, from_=str(form.get("From", "")), url=form.get("Url"),
                    twiml=form.get("Twiml"), machine_detection=form.get("MachineDetection"),
                    status_callback=form.get("StatusCallback"), created_at=utc_now())
        with fake.lock:
            fake.calls.append(call)
        return JSONResponse(call.resource(fake.account_sid), status_code=201)

    @app.post(prefix + "/Calls/{call_sid}.json")
    async def update_call(call_sid: str, request: Request):
        form = await request.form()
        with fake.lock:
            call = next((c for c in fake.calls if c.sid == call_sid), None)
        if call is None:
            return api_error(404, 20404, "The requested resource was not found")
        call.updates.append(dict(form))
        if form.get("Status"):
            call.status = str(form["Status"])
        return call.resource(fake.account_sid)

    return app


def _authorised(fake: FakeTwilio, request: Request) -> bool:
    token = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    parts = request.url.path.split("/")
    account = parts[3] if len(parts) > 3 else ""
    return request.headers.get("Authorization") == f"Basic {token}" and account == fake.account_sid
