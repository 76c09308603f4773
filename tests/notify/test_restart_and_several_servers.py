"""All state is in the database: a restart resumes without re-sending, and two servers never send twice."""

from __future__ import annotations

import threading
from collections import Counter

from sqlmodel import select

from notify.clock import EscalationLoop
from roster.db import make_engine, session_factory
from roster.models import Person
from roster.quorum.lifecycle import create_request
from roster.quorum.models import OutboundMessage
from tests.notify.helpers import add_team, ask_for_quorum, invitation_states, request_state, unsent, wait_for


def test_a_restart_mid_request_resumes_without_resending(serve, twilio, team, phones, clock, new_session):
    first = serve()
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    wait_for(lambda: unsent(new_session) == 0 and len(twilio.sent_messages()) == 3, "the first wave")
    a, b, c = [name for name, phone in phones.items() if phone.texts]
    phones[a].reply("1")
    first.stop()  # the server goes down with the request open

    second = serve(port=first.http.port)  # same public URL, fresh process state
    wait_for(lambda: second.loop.tick() is not None, "a turn of the new server's clock")
    assert len(twilio.sent_messages()) == 3  # nobody was invited again
    phones[b].reply("1")
    wait_for(lambda: request_state(new_session, request_id) == "formed", "the quorum to form")
    wait_for(lambda: unsent(new_session) == 0 and len(phones[c].texts) == 2, "the stand-down")
    assert {name: len(phones[name].texts) for name in (a, b, c)} == {a: 2, b: 2, c: 2}
    assert phones[c].last_text.startswith("Dive Boat: thanks, the quorum for Sam")
    assert Counter((m.to, m.body) for m in twilio.sent_messages()).most_common(1)[0][1] == 1
    assert invitation_states(new_session, request_id, team) == {a: "joined", b: "joined", c: "stood_down"}


def test_two_servers_running_the_clock_never_send_a_message_twice(twilio, twilio_settings, new_session, clock, db_url):
    with new_session() as session:
        add_team(session, clock(), names=[f"Worker {n:02d}" for n in range(40)])
        requesters = list(session.exec(select(Person).order_by(Person.id).limit(4)))
    twilio.default_latency = 0.05
    engines = [make_engine(db_url), make_engine(db_url)]
    loops = [EscalationLoop(twilio_settings, session_factory(e), clock=clock, poll=False) for e in engines]
    stop = threading.Event()
    ticking = [threading.Lock() for _ in loops]  # held for each turn, so the clock moves between turns

    def run(loop, lock):
        while not stop.is_set():
            with lock:
                loop.tick()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(loops, ticking)]
    for thread in threads:
        thread.start()
    try:
        with new_session() as session:
            for requester in requesters:
                create_request(session, requester.id, need=4, now=clock())  # 4 x 5 invitations
        wait_for(lambda: len(twilio.sent_messages()) >= 20 and unsent(new_session) == 0, "the first waves")
        # Both clocks see the same moment: voice calls and second waves. Moved between turns: a turn
        # that began before a 3-minute jump would claim the new rows with its older time, which the
        # other clock then takes for a claim abandoned over 2 minutes ago (real clocks don't jump).
        with ticking[0], ticking[1]:
            clock.advance(minutes=3, seconds=1)
        wait_for(lambda: len(twilio.calls) >= 20 and unsent(new_session) == 0, "calls and second waves")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for engine in engines:
            engine.dispose()

    with new_session() as session:
        rows = session.exec(select(OutboundMessage)).all()
    sent = [m.to for m in twilio.sent_messages()] + [c.to for c in twilio.calls]
    assert len(sent) == len(rows) == len({row.provider_sid for row in rows})
    assert Counter((m.to, m.body) for m in twilio.sent_messages()).most_common(1)[0][1] == 1
    assert Counter((c.to, c.twiml) for c in twilio.calls).most_common(1)[0][1] == 1
