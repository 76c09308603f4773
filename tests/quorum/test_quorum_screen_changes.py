"""The quorum screen notices a change to its request at once, between its full refreshes."""

from __future__ import annotations

from sqlmodel import select

from roster.db import session_factory
from roster.demo import seed_demo
from roster.models import Person
from roster.quorum import create_request, record_sms_reply
from roster.quorum.changes import request_fingerprint
from roster.quorum.models import Invitation
from roster.settings import Settings
from tests.quorum.test_quorum_screen import SIZE, START, Clock, person, states, until
from tui.app import create_app
from tui.screens.quorum import QuorumScreen


def invitee_phone(session, request_id: int, index: int) -> str:
    invitations = session.exec(select(Invitation).where(Invitation.request_id == request_id).order_by(Invitation.id))
    return session.get(Person, list(invitations)[index].person_id).phone


def test_the_fingerprint_changes_with_a_reply_and_not_without_one(engine):
    with session_factory(engine)() as session:
        seed_demo(session, START)
        sam = session.exec(select(Person).where(Person.name == "Sam Okafor")).one()
        request_id = create_request(session, sam.id, need=2, now=START).id
        before = request_fingerprint(session, request_id)
        assert request_fingerprint(session, request_id) == before
        record_sms_reply(session, from_phone=invitee_phone(session, request_id, 0), body="1", provider_sid="SM1",
                         received_at=START)
        assert request_fingerprint(session, request_id) != before


async def test_a_reply_recorded_elsewhere_shows_without_waiting_for_the_full_refresh(engine, db_url):
    clock = Clock()
    with session_factory(engine)() as session:
        seed_demo(session, START)
    app = create_app(Settings(db=db_url, refresh_seconds=3600), engine, clock=clock, escalation_clock=False)
    with app.new_session() as session:
        request_id = create_request(session, person(app, "Sam Okafor").id, need=2, now=START).id
        phone = invitee_phone(session, request_id, 0)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(QuorumScreen(request_id))
        screen = app.screen
        await until(pilot, lambda: screen.view is not None, "the quorum screen")
        name = screen.view.invitees[0].name
        with session_factory(engine)() as other:  # as the webhook server would, in its own session
            record_sms_reply(other, from_phone=phone, body="1", provider_sid="SM-elsewhere", received_at=START)
        await until(pilot, lambda: states(screen)[name] == "joined", "the join shown before the hourly refresh")
