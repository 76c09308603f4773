"""The reply webhook's path: database work off the event loop (SQLite: batched into one transaction),
deliveries only when a reply queued something."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest
from sqlmodel import select
import httpx
from twilio.request_validator import RequestValidator

import notify.db_worker
import notify.dispatch
from notify.db_worker import POSTGRES_THREADS, DatabaseWorker
from notify.dispatch import DeliveryKicker
from notify.server import create_server
from roster.quorum import DEFAULT_POLICY, create_request
from roster.quorum.handling import SmsReply, form_after_join, warm_up
from roster.quorum.models import InboundMessage, QuorumRequest
from tests.fake_twilio import ServerThread
from tests.notify.helpers import add_team, wait_for


@pytest.fixture
def server(twilio_settings, engine, new_session, clock):
    with new_session() as session:
        team = add_team(session, clock())
        create_request(session, team["Sam"].id, need=2, now=clock())
    http = ServerThread()
    app = create_server(twilio_settings.model_copy(update={"public_url": http.url}), engine)
    app.state.clock = clock
    http.start(app)
    try:
        yield http.url, team
    finally:
        http.stop()


def post_reply(base: str, token: str, phone: str, body: str, sid: str) -> int:
    url = f"{base}/twilio/sms"
    params = {"Body": body, "From": phone, "MessageSid": sid, "To": "+447700900001"}
    signature = RequestValidator(token).compute_signature(url, params)
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}).status_code


def test_reply_handling_runs_in_a_worker_thread_not_on_the_event_loop(server, twilio, monkeypatch):
    base, team = server
    threads_with_a_loop = []
    handle = notify.db_worker.record_sms_reply

    def recording(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            threads_with_a_loop.append(True)
        except RuntimeError:
            threads_with_a_loop.append(False)
        return handle(*args, **kwargs)

    monkeypatch.setattr(notify.db_worker, "record_sms_reply", recording)
    assert post_reply(base, twilio.auth_token, team["Alex"].phone, "1", "SM1") == 200
    assert threads_with_a_loop == [False]


def test_a_webhook_answer_says_how_long_its_database_work_and_handler_took(server, twilio, monkeypatch):
    base, team = server
    record = notify.db_worker.record_sms_reply

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return record(*args, **kwargs)

    monkeypatch.setattr(notify.db_worker, "record_sms_reply", slow)
    url = f"{base}/twilio/sms"
    params = {"Body": "1", "From": team["Alex"].phone, "MessageSid": "SMtimed", "To": "+447700900001"}
    answer = httpx.post(url, data=params, headers={"X-Twilio-Signature": RequestValidator(twilio.auth_token).compute_signature(url, params)})
    timings = dict(part.split(";dur=") for part in answer.headers["Server-Timing"].split(", "))
    assert set(timings) == {"db", "app"}
    assert 50 <= float(timings["db"]) <= float(timings["app"])


def test_only_replies_that_queued_a_text_start_a_delivery_pass(server, twilio, monkeypatch):
    base, team = server
    kicks = []

    async def counting_kick(self):
        kicks.append(1)

    monkeypatch.setattr(DeliveryKicker, "kick", counting_kick)
    replies = [  # (who, what, delivery passes started so far)
        ("Alex", "2", 0),  # a decline queues nothing
        ("Bea", "1", 0),  # a join that does not form the quorum yet
        ("Bea", "1", 0),  # the same answer again
        ("Cal", "hmm", 1),  # one help text
        ("Cal", "1", 2),  # formed: confirmations and stand-downs
    ]
    for n, (name, body, passes) in enumerate(replies):
        assert post_reply(base, twilio.auth_token, team[name].phone, body, f"SM{n}") == 200
        wait_for(lambda: len(kicks) == passes, f"{passes} delivery passes after {name}'s {body!r}")  # after the answer
    assert len(kicks) == 2


def test_kicks_during_a_delivery_pass_make_one_more_pass_on_the_event_loop(twilio_settings, new_session, monkeypatch):
    passes = []

    async def delivering(settings, new_session, **kwargs):
        passes.append(threading.current_thread())
        await asyncio.sleep(0.05)

    monkeypatch.setattr(notify.dispatch, "deliver_pending_async", delivering)
    kicker = DeliveryKicker(twilio_settings, new_session, gather_seconds=0)

    async def burst():
        first = asyncio.create_task(kicker.kick())
        await asyncio.sleep(0.01)  # the first pass is under way
        await asyncio.wait_for(asyncio.gather(*(kicker.kick() for _ in range(5))), 0.02)  # they return at once
        await first

    asyncio.run(burst())
    assert passes == [threading.current_thread()] * 2  # one more pass for all five, on the loop's own thread


def test_a_started_server_keeps_its_start_up_objects_out_of_garbage_collections(server):
    assert gc.get_freeze_count() > 10_000


def replies_at_once(engine, new_session, replies) -> list:
    """Submit ``replies`` to a database worker all at once (as a burst of webhooks would), each
    followed by its forming step when it needs one (as the webhook does after answering)."""
    async def reply_then_form(worker, reply):
        outcome = await worker.record_sms_reply(reply, DEFAULT_POLICY)
        if not outcome.check_quorum:
            return outcome
        return await worker.run(form_after_join, outcome=outcome, provider_sid=reply.provider_sid,
                                received_at=reply.received_at, policy=DEFAULT_POLICY)

    async def burst():
        worker = DatabaseWorker(engine, new_session)
        try:
            return await asyncio.gather(*(reply_then_form(worker, reply) for reply in replies))
        finally:
            worker.close()

    return asyncio.run(burst())


@pytest.mark.parametrize("batch_fails", [False, True])
def test_a_burst_of_replies_counts_each_once(engine, new_session, clock, monkeypatch, batch_fails):
    with new_session() as session:
        team = add_team(session, clock())
        request_id = create_request(session, team["Sam"].id, need=3, now=clock()).id
    if batch_fails:  # e.g. a bug in one reply: each is then recorded in its own transaction
        monkeypatch.setattr(notify.db_worker, "record_sms_replies", lambda *a, **k: (_ for _ in ()).throw(RuntimeError))
    names = ["Alex", "Bea", "Alex", "Cal", "Bea"]
    sids = ["SM1", "SM2", "SM1", "SM3", "SM4"]  # the third is Twilio re-delivering the first
    outcomes = replies_at_once(engine, new_session, [
        SmsReply(team[name].phone, "1", sid, clock()) for name, sid in zip(names, sids, strict=True)])
    expected = ["joined", "joined", "duplicate: already handled", "joined: quorum formed", "already joined"]
    if engine.dialect.name == "sqlite":  # one thread, in order; PostgreSQL's threads may take them in any order
        assert [o.outcome for o in outcomes] == expected
    assert sorted(o.outcome for o in outcomes) == sorted(expected)
    with new_session() as session:
        assert session.get(QuorumRequest, request_id).state == "formed"
        assert sorted(session.exec(select(InboundMessage.provider_sid))) == ["SM1", "SM2", "SM3", "SM4"]


def test_a_starting_server_warms_a_connection_for_each_database_thread(engine, new_session):
    warmed = []

    async def start():
        worker = DatabaseWorker(engine, new_session)
        try:
            def warm_up_and_note(session):
                warm_up(session)  # the server's own warm-up, which rolls back what it did
                warmed.append(session.connection().connection.dbapi_connection)

            await worker.warm_up(warm_up_and_note)
        finally:
            worker.close()

    asyncio.run(start())
    if engine.dialect.name == "sqlite":
        assert len(warmed) == 1
        return
    assert len(warmed) == POSTGRES_THREADS
    assert len({id(connection) for connection in warmed}) == POSTGRES_THREADS  # each on its own connection
    assert engine.pool.checkedin() >= POSTGRES_THREADS  # and kept open for the first replies


def test_a_warm_up_that_fails_stops_the_start_at_once(engine, new_session):
    if engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's database threads only")
    calls = []

    def fails_once(session):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database refused")

    async def start():
        worker = DatabaseWorker(engine, new_session)
        try:
            await worker.warm_up(fails_once)
        finally:
            worker.close()

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="refused"):
        asyncio.run(start())
    assert time.monotonic() - started < 10  # not the barrier's 30 s
