"""Twilio webhooks: inbound SMS, voice calls and keypresses, delivery status callbacks.

Every request must carry a valid ``X-Twilio-Signature`` for the URL Twilio called,
rebuilt from ``DIVEBOAT_PUBLIC_URL`` + path + query (so it works behind proxies);
otherwise the answer is 403 and nothing changes. Handlers only translate Twilio's
form fields into the roster's idempotent functions (duplicates count once), then
deliver whatever those queued, after the response has gone.

They are plain Starlette routes in an ASGI app of their own (:data:`webhooks_app`), which
the server hands ``/twilio/...`` requests to before FastAPI's middleware: a burst of
replies comes at hundreds a second, and FastAPI's per-request dependency solving cost a
fifth of the web layer's CPU (about 0.1 of 0.49 ms a request, measured with everything
else equal), its seven middleware layers another 0.03-0.05 ms.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import time
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import parse_qsl, urlparse

from fastapi import HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from sqlmodel import Session, select
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Router
from twilio.request_validator import RequestValidator, add_port, get_signature_algorithm, remove_port

from roster.quorum.handling import ReplyOutcome, SmsReply, form_after_join, keypress_sid, record_keypress
from roster.quorum.models import MessageKind, OutboundMessage
from roster.quorum.outbox import record_delivery_status
from roster.settings import Settings
from roster.timeutil import utcnow
from notify.dispatch import DeliveryKicker
from notify.twilio_client import FORM_CONTENT_TYPE
from notify.voice import (
    DECLINE_DIGIT,
    JOIN_DIGIT,
    empty_messaging_twiml,
    gather_twiml,
    machine_twiml,
    say_and_hang_up,
    wrong_key_again_twiml,
    wrong_key_twiml,
)

log = logging.getLogger(__name__)
PREFIX = "/twilio"
#: Twilio's webhooks are a few kilobytes (an SMS with ten media URLs about 5 KB).
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 1000  # as Starlette's form parser allows
_routes = Router()
#: The webhooks' ASGI app: their routes, errors answered as FastAPI would (JSON ``detail``; 500).
webhooks_app = ServerErrorMiddleware(ExceptionMiddleware(
    _routes, handlers={StarletteHTTPException: http_exception_handler}))
XML = "application/xml"
EMPTY_MESSAGING_TWIML = empty_messaging_twiml()

JOINED_SPEECH = "Thank you, you have joined. We will text you the details. Goodbye."
DECLINED_SPEECH = "Thank you, we have noted that you can't join this time. Goodbye."
NO_LONGER_NEEDED = "Thank you. This request no longer needs an answer from you. Goodbye."
WRONG_KEY_PARAM = "wrong_key"  # on the Gather action after one wrong key: the next one ends the call


def _webhook(path: str):
    """Register the decorated ``endpoint(request, form) -> Response`` for POSTs to ``/twilio<path>``:
    it is called only once the request's Twilio signature is checked (see :func:`twilio_form`).
    Its answer carries a ``Server-Timing`` header (:func:`server_timing`)."""

    def register(endpoint):
        async def checked(request: Request) -> Response:
            started = time.perf_counter()
            request.state.database_seconds = 0.0
            response = await endpoint(request, await twilio_form(request))
            response.headers["Server-Timing"] = server_timing(request.state.database_seconds,
                                                              time.perf_counter() - started)
            return response

        _routes.add_route(PREFIX + path, checked, methods=["POST"])
        return endpoint

    return register


def server_timing(database_seconds: float, handler_seconds: float) -> str:
    """A ``Server-Timing`` value (milliseconds): ``db``, the time the webhook waited for its database
    work (queueing for the database thread included), and ``app``, its whole time in the handler
    from reading the form to the answer; what a caller measures beyond ``app`` was spent before
    the handler ran (the connection waiting to be read) or on the network."""
    return f"db;dur={database_seconds * 1000:.2f}, app;dur={handler_seconds * 1000:.2f}"


@asynccontextmanager
async def _timing_database(request: Request):
    """Add the time spent inside the block to the webhook's ``db`` timing."""
    started = time.perf_counter()
    try:
        yield
    finally:
        request.state.database_seconds += time.perf_counter() - started


def public_request_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called: ``DIVEBOAT_PUBLIC_URL`` + path + query (the request's own URL without it)."""
    if not settings.public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.public_url.rstrip("/") + request.url.path + query


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


class _Fields(dict):
    """Form fields (name -> values) as Twilio's validator reads them: by ``getall``, which a
    ``FormData`` lacks (the validator would catch an AttributeError for every field)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def signature_matches(token: str, url: str, form: FormData, signature: str, algorithm: str) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and ``form``: what ``RequestValidator.validate``
    accepts (the URL with or without its port), checking the URL as given first, so the usual
    request costs one HMAC instead of two."""
    validator, fields = _validator(token), _Fields((name, form.getlist(name)) for name in form.keys())
    try:
        if _same(validator.compute_signature(url, fields, algorithm), signature):
            return True
    except ValueError:  # an algorithm the twilio library does not know
        log.warning("refused a request signed with an unsupported algorithm %r", algorithm)
        return False
    parsed = urlparse(url)
    other_form = remove_port(parsed) if parsed.port else add_port(parsed)
    return _same(validator.compute_signature(other_form, fields, algorithm), signature)


def _same(computed: str, signature: str) -> bool:
    return hmac.compare_digest(computed.encode(), signature.encode())


async def read_form(request: Request) -> FormData:
    """The form Twilio posts (url-encoded), parsed by the standard library: Starlette's parser,
    through python-multipart, costs about three times as much for Twilio's twenty-odd fields.
    A body over :data:`MAX_BODY_BYTES` gets 413 before it is read whole; a body of another
    type is parsed by Starlette."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        return await request.form()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"the body is over {MAX_BODY_BYTES} bytes: not a Twilio webhook")
    try:  # percent-escapes decode as UTF-8, other bytes as Latin-1 (as Starlette does)
        return FormData(parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise HTTPException(status_code=400, detail=f"the form has over {MAX_FIELDS} fields") from None


async def twilio_form(request: Request) -> FormData:
    """The request's form fields, once its Twilio signature is checked (403 otherwise)."""
    settings: Settings = request.app.state.settings
    form = await read_form(request)
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    signature = request.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    url = public_request_url(settings, request)
    if not (token and signature and signature_matches(token, url, form, signature, algorithm)):
        log.warning("refused a request to %s with a missing or bad Twilio signature", request.url.path)
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return form


def _now(request: Request) -> datetime:
    """The current time (``app.state.clock`` when a test or the dashboard sets one)."""
    return getattr(request.app.state, "clock", utcnow)()


def _after_answering(request: Request, outcome: ReplyOutcome, *, provider_sid: str,
                     received_at: datetime) -> BackgroundTask | None:
    """What to run after the response: form the request if a join may have met its quorum
    (PostgreSQL: the answer to Twilio never waits behind another reply forming it), then send
    what the reply queued (bursts coalesce into one pass).

    Most replies queue nothing (a join that does not yet form the quorum, a decline, a
    duplicate): they start no delivery pass, which would only contend for the database.
    """
    if outcome.check_quorum:
        return BackgroundTask(_form_then_deliver, request.app.state, outcome, provider_sid, received_at)
    if outcome.queued:
        return BackgroundTask(_kicker(request.app.state).kick)
    return None


def _kicker(state) -> DeliveryKicker:
    """The app's delivery kicker (made on first use, on the event loop: no lock needed)."""
    if getattr(state, "delivery_kicker", None) is None:
        state.delivery_kicker = DeliveryKicker(state.settings, state.new_session, clock=getattr(state, "clock", utcnow),
                                               sending=state.sending, database=state.database.run)
    return state.delivery_kicker


async def _form_then_deliver(state, outcome: ReplyOutcome, provider_sid: str, received_at: datetime) -> None:
    """Form the join's request if its quorum is met (in a database thread), then deliver what
    forming queued. Should this fail, the escalation clock forms the request on its next turn."""
    try:
        outcome = await state.database.run(form_after_join, outcome=outcome, provider_sid=provider_sid,
                                           received_at=received_at, policy=state.policy)
    except Exception:
        log.exception("forming request %s after a join failed; the escalation clock will form it", outcome.request_id)
        return
    if outcome.queued:
        await _kicker(state).kick()


def _field(form: FormData, *names: str) -> str:
    for name in names:
        value = form.get(name)
        if value:
            return str(value)
    return ""


async def _database(request: Request, action, **kwargs):
    """``action(session, **kwargs)`` in a database thread (see :mod:`notify.db_worker`)."""
    async with _timing_database(request):
        return await request.app.state.database.run(action, **kwargs)


@_webhook("/sms")
async def inbound_sms(request: Request, form: FormData) -> Response:
    """An SMS to our number: recorded once per MessageSid; answers go out through the outbox."""
    sid = _field(form, "MessageSid", "SmsMessageSid", "SmsSid")
    if not sid:
        raise HTTPException(status_code=400, detail="MessageSid is missing")
    reply = SmsReply(from_phone=_field(form, "From"), body=_field(form, "Body"), provider_sid=sid, received_at=_now(request))
    async with _timing_database(request):
        outcome = await request.app.state.database.record_sms_reply(reply, request.app.state.policy)
    background = _after_answering(request, outcome, provider_sid=sid, received_at=reply.received_at)
    return Response(EMPTY_MESSAGING_TWIML, media_type=XML, background=background)


def _invitation_id(request: Request) -> int:
    try:
        return int(request.query_params["invitation"])
    except (KeyError, ValueError):
        raise HTTPException(status_code=400, detail="invitation is missing from the voice URL") from None


def _voice_script(session: Session, invitation_id: int) -> str | None:
    return session.exec(
        select(OutboundMessage.body)
        .where(OutboundMessage.invitation_id == invitation_id, OutboundMessage.kind == MessageKind.VOICE)
        .order_by(OutboundMessage.id.desc())
    ).first()


@_webhook("/voice")
async def voice(request: Request, form: FormData) -> Response:
    """A quorum call: the script with a ``<Gather>``; its keypress comes back here with ``Digits``."""
    invitation_id = _invitation_id(request)
    action_url = public_request_url(request.app.state.settings, request)
    digits = _field(form, "Digits")
    if not digits:
        if _field(form, "AnsweredBy").startswith(("machine", "fax")):
            return Response(machine_twiml(), media_type=XML)
        script = await _database(request, _voice_script, invitation_id=invitation_id)
        if script is None:
            return Response(say_and_hang_up(NO_LONGER_NEEDED), media_type=XML)
        return Response(gather_twiml(script, action_url), media_type=XML)
    key = digits.strip()[:1]
    if key not in (JOIN_DIGIT, DECLINE_DIGIT):
        if WRONG_KEY_PARAM in request.query_params:
            return Response(wrong_key_again_twiml(), media_type=XML)
        return Response(wrong_key_twiml(f"{action_url}&{WRONG_KEY_PARAM}=1"), media_type=XML)
    call_sid, received_at = _field(form, "CallSid"), _now(request)
    outcome = await _database(request, record_keypress, call_sid=call_sid, digits=key, invitation_id=invitation_id,
                              received_at=received_at, policy=request.app.state.policy, form_quorum=False)
    background = _after_answering(request, outcome, provider_sid=keypress_sid(call_sid, key), received_at=received_at)
    return Response(say_and_hang_up(_spoken(outcome, key)), media_type=XML, background=background)


def _spoken(outcome: ReplyOutcome, key: str) -> str:
    """What to say after a keypress: the roster's answer without the SMS prefix, or a plain thanks."""
    if outcome.duplicate:  # Twilio retried the Gather action; the first one was counted
        return JOINED_SPEECH if key == JOIN_DIGIT else DECLINED_SPEECH
    if outcome.reply_text:
        return re.sub(r"^Dive Boat:\s*", "", outcome.reply_text) + " Goodbye."
    if outcome.outcome.startswith(("joined", "already joined")):
        return JOINED_SPEECH
    if outcome.outcome.startswith(("declined", "already declined", "dropped out")):
        return DECLINED_SPEECH
    return NO_LONGER_NEEDED


@_webhook("/status")
async def delivery_status(request: Request, form: FormData) -> Response:
    """A message or call status callback: updates the message and its invitation."""
    sid = _field(form, "MessageSid", "SmsSid", "CallSid")
    status = _field(form, "MessageStatus", "SmsStatus", "CallStatus")
    if not sid or not status:
        raise HTTPException(status_code=400, detail="MessageSid/CallSid and a status are required")
    error_code = _field(form, "ErrorCode") or None
    await _database(request, record_delivery_status, provider_sid=sid, status=status, error_code=error_code,
                    now=_now(request))
    return Response(status_code=204)
