"""``diveboat serve``'s sending process: Twilio requests made by a child, results recorded by the server."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import pytest
from sqlmodel import select

from notify.dispatch import deliver_pending
from notify.sending import SendingProcess
from roster.quorum.models import Invitation, OutboundMessage
from tests.notify.helpers import ask_for_quorum, invitation_states


@pytest.fixture
def sending(twilio_settings):
    with SendingProcess(twilio_settings) as process:
        yield process


def wait_for(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_the_child_sends_and_the_server_records_sids_and_refusals(sending, twilio, twilio_settings, team, phones,
                                                                   clock, new_session):
    assert sending.pid not in (None, os.getpid())
    assert sending._pool.submit(gc.get_freeze_count).result() > 10_000  # its start-up heap is out of the collector's way
    request_id = ask_for_quorum(new_session, team["Sam"], clock)
    with new_session() as session:
        first = session.exec(select(Invitation.person_id).where(Invitation.request_id == request_id)).first()
    refused = next(name for name, person in team.items() if person.id == first)
    phones[refused].reject_code = 21610
    report = deliver_pending(twilio_settings, new_session, now=clock(), sending=sending)
    assert (report.sent, report.failed) == (3, 1)  # two, then the replacement in a follow-up pass
    with new_session() as session:
        rows = list(session.exec(select(OutboundMessage).where(OutboundMessage.status == "sent")))
        failed = session.exec(select(Invitation).where(Invitation.person_id == team[refused].id)).one()
    assert {row.provider_sid for row in rows} == {m.sid for m in twilio.sent_messages()}
    assert (failed.state, failed.error_code) == ("failed", "21610") and "opted out" in failed.error_text
    assert len([s for s in invitation_states(new_session, request_id, team).values() if s == "sent"]) == 3
    assert deliver_pending(twilio_settings, new_session, now=clock(), sending=sending).handled == 0


def test_a_child_that_dies_mid_batch_leaves_it_to_retry_and_a_new_child_sends_it(sending, twilio, twilio_settings,
                                                                                  team, clock, new_session):
    ask_for_quorum(new_session, team["Sam"], clock)
    twilio.default_latency = 1.0
    reports = []
    delivering = threading.Thread(target=lambda: reports.append(
        deliver_pending(twilio_settings, new_session, now=clock(), sending=sending)))
    delivering.start()
    wait_for(lambda: twilio.in_flight == 3, "the child's three requests")
    os.kill(sending.pid, signal.SIGKILL)
    delivering.join(timeout=20)
    assert (reports[0].retry_later, reports[0].sent) == (3, 0)
    with new_session() as session:
        assert set(session.exec(select(OutboundMessage.status))) == {"sending"}  # still claimed: nothing lost
    twilio.default_latency = 0.0
    clock.advance(minutes=2, seconds=1)  # the stuck claim is taken over, by a new child
    assert deliver_pending(twilio_settings, new_session, now=clock(), sending=sending).sent == 3
