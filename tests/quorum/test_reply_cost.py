"""What handling a reply costs the database: a few statements, not an ORM walk (counted, never timed).

The reply webhook must keep up with bursts (issue 5: 200 replies a second), so the
common answers are bounded here by the number of SQL statements they run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from roster.quorum import create_request, record_sms_reply
from roster.quorum.answers import Sender, answer_at_once, load_target
from roster.quorum.models import InboundMessage, Invitation, QuorumEvent
from roster.quorum.replies import parse_reply
from roster.quorum.reply_sql import AUTOCOMMIT
from tests.quorum.conftest import NOW, counting


@pytest.fixture
def open_request(roster, session):
    team = roster.team("Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King")
    request = create_request(session, team[0].id, need=3, now=NOW)
    roster.send_all()
    return request


def locking(engine: sa.Engine) -> int:
    """What PostgreSQL adds to an answer that changes something: lock the request and its invitation,
    reading them again (SQLite's ``BEGIN IMMEDIATE`` already makes the first read final)."""
    return 1 if engine.dialect.name == "postgresql" else 0


def reply(roster, engine, new_session, name: str, body: str, sid: str) -> tuple[object, list[str]]:
    with new_session() as session, counting(engine) as statements:
        outcome = record_sms_reply(session, from_phone=roster.phone(name), body=body, provider_sid=sid, received_at=NOW)
    return outcome, statements


@pytest.mark.parametrize(("body", "most"), [("1", 5), ("2", 4)])
def test_an_answer_runs_a_few_statements(roster, open_request, engine, new_session, body, most):
    """Read the sender, their invitation and its request at once; change the invitation, note it
    (a join also counts joiners); store the reply with what it did."""
    outcome, statements = reply(roster, engine, new_session, "Alex Green", body, "SM1")
    assert outcome.invitation_id is not None and not outcome.formed
    assert len(statements) <= most + locking(engine), "\n".join(statements)


def test_a_duplicate_delivery_runs_one_statement(roster, open_request, engine, new_session):
    reply(roster, engine, new_session, "Alex Green", "1", "SM1")
    outcome, statements = reply(roster, engine, new_session, "Alex Green", "1", "SM1")
    assert outcome.duplicate and len(statements) == 1, "\n".join(statements)


def test_a_repeated_or_late_answer_runs_two_statements_and_takes_no_lock(roster, open_request, engine, new_session):
    """Nothing changes but the reply being recorded: read, store (PostgreSQL locks nothing)."""
    reply(roster, engine, new_session, "Alex Green", "1", "SM1")
    outcome, statements = reply(roster, engine, new_session, "Alex Green", "1", "SM2")
    assert outcome.outcome == "already joined" and len(statements) == 2, "\n".join(statements)
    reply(roster, engine, new_session, "Bea Hart", "1", "SM3")
    assert reply(roster, engine, new_session, "Cal Idris", "1", "SM4")[0].formed
    outcome, statements = reply(roster, engine, new_session, "Alex Green", "1 thanks", "SM5")
    assert outcome.outcome == "already joined" and len(statements) == 2, "\n".join(statements)


def test_a_duplicate_keeps_the_connections_prepared_statements(roster, open_request, engine):
    """psycopg prepares a statement run five times on one connection, and forgets them all on
    ROLLBACK. A duplicate wrote nothing, so it ends with COMMIT and the replies after it run prepared."""
    if engine.dialect.name != "postgresql":
        pytest.skip("server-side prepared statements: PostgreSQL only")
    prepared = sa.text("SELECT count(*) FROM pg_prepared_statements")

    def decline(connection: sa.Connection, sid: str):
        with Session(bind=connection) as session:
            return record_sms_reply(session, from_phone=roster.phone("Alex Green"), body="2", provider_sid=sid,
                                    received_at=NOW)

    with engine.connect() as connection:
        for n in range(6):
            decline(connection, f"SM{n}")
        before = connection.execute(prepared).scalar()
        connection.commit()
        assert decline(connection, "SM0").duplicate
        assert before > 0 and connection.execute(prepared).scalar() == before


@contextmanager
def round_trips(engine: sa.Engine) -> Iterator[list[str]]:
    """What each round trip to PostgreSQL inside the block was, as libpq traces the protocol:
    ``"statement"`` (one extended-protocol query, up to its Sync) or the simple query's text
    (``"BEGIN ..."``, ``"COMMIT"``). Filled in when the block ends."""
    trips: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace")
        trace = os.open(path, os.O_WRONLY | os.O_CREAT)

        def start(dbapi_connection, _record, _proxy) -> None:
            dbapi_connection.pgconn.trace(trace)

        def stop(dbapi_connection, _record) -> None:
            dbapi_connection.pgconn.untrace()

        sa.event.listen(engine, "checkout", start)
        sa.event.listen(engine, "checkin", stop)
        try:
            yield trips
        finally:
            sa.event.remove(engine, "checkout", start)
            sa.event.remove(engine, "checkin", stop)
            os.close(trace)
        with open(path) as lines:
            for line in lines:
                fields = line.rstrip("\n").split("\t")
                if len(fields) > 3 and fields[1] == "F" and fields[3] == "Sync":
                    trips.append("statement")
                elif len(fields) > 4 and fields[1] == "F" and fields[3] == "Query":
                    trips.append(fields[4].strip().strip('"'))


def test_on_postgresql_a_reply_that_changes_nothing_else_takes_no_transaction(roster, open_request, engine, new_session):
    """A read, then the store (each statement its own transaction): no BEGIN or COMMIT round trips."""
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips to a server: PostgreSQL only")
    reply(roster, engine, new_session, "Alex Green", "1", "SM1")
    with round_trips(engine) as repeated:
        assert reply(roster, engine, new_session, "Alex Green", "1", "SM2")[0].outcome == "already joined"
    with round_trips(engine) as duplicate:
        assert reply(roster, engine, new_session, "Alex Green", "1", "SM2")[0].duplicate
    with round_trips(engine) as stranger, new_session() as session:
        assert record_sms_reply(session, from_phone="+447700900999", body="1", provider_sid="SM3").outcome == "unknown sender"
    assert (repeated, duplicate, stranger) == (["statement"] * 2, ["statement"], ["statement"] * 2)
    for name, sid in (("Bea Hart", "SM4"), ("Cal Idris", "SM5")):
        reply(roster, engine, new_session, name, "1", sid)
    with round_trips(engine) as first_late_join:
        assert reply(roster, engine, new_session, "Dee Jones", "1", "SM6")[0].reply_text  # thanked, in a transaction
    with round_trips(engine) as second_late_join:
        assert reply(roster, engine, new_session, "Dee Jones", "1", "SM7")[0].outcome == "late join: request already formed"
    # read; lock the request and invitation; read the party and whether thanked; store the reply with its text
    assert first_late_join == ["statement", "BEGIN ISOLATION LEVEL READ COMMITTED", *["statement"] * 3, "COMMIT"]
    assert second_late_join == ["statement"] * 2
    assert len(roster.inbox("Dee Jones")) == 3  # invited, stood down, thanked once


def test_on_postgresql_an_answer_that_changes_its_invitation_is_one_statement_after_the_read(
        roster, open_request, engine, new_session):
    """Read; then lock the request (if still open) and the invitation (if still as read), and write
    the new state, the event and the reply in one statement, its own transaction; a join then
    reads whether the quorum is met."""
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips to a server: PostgreSQL only")
    with round_trips(engine) as decline, new_session() as session:
        assert record_sms_reply(session, from_phone=roster.phone("Bea Hart"), body="2", provider_sid="SM1",
                                received_at=NOW, form_quorum=False).outcome == "declined"
    with round_trips(engine) as join, new_session() as session:
        assert record_sms_reply(session, from_phone=roster.phone("Alex Green"), body="1", provider_sid="SM2",
                                received_at=NOW, form_quorum=False).outcome == "joined"
    assert (decline, join) == (["statement"] * 2, ["statement"] * 3)
    with new_session() as session:
        events = session.scalars(sa.select(QuorumEvent.text).where(QuorumEvent.request_id == open_request.id)
                                 .order_by(QuorumEvent.id.desc()).limit(2)).all()
        states = dict(session.exec(sa.select(Invitation.person_id, Invitation.state)
                                   .where(Invitation.request_id == open_request.id)).all())
    assert events == ["Alex joined", "Bea declined"]
    assert (states[roster.people["Alex Green"].id], states[roster.people["Bea Hart"].id]) == ("joined", "declined")


@pytest.fixture
def stale_read(roster, open_request, engine, new_session):
    """PostgreSQL: what the first read of a reply from Alex ("1", SM9) found, before anything else changes."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the one-statement answer: PostgreSQL only")
    alex = roster.people["Alex Green"]
    with new_session() as session:
        invitation_id = session.scalars(sa.select(Invitation.id).where(
            Invitation.request_id == open_request.id, Invitation.person_id == alex.id)).one()
        target = load_target(session.connection(), invitation_id)
    return Sender(alex.id, alex.name, alex.phone, alex.sms_opt_out), target


def answer_stale(engine, new_session, stale) -> object:
    sender, target = stale
    with new_session() as session:
        connection = session.connection(execution_options=AUTOCOMMIT)
        return answer_at_once(connection, sender, parse_reply("1"), target, provider_sid="SM9", phone=sender.phone,
                              body="1", at=NOW)


def written(new_session, request_id: int) -> tuple[list[str], list[str], list[str]]:
    with new_session() as session:
        events = session.scalars(sa.select(QuorumEvent.text).where(QuorumEvent.request_id == request_id)
                                 .order_by(QuorumEvent.id)).all()
        stored = session.scalars(sa.select(InboundMessage.provider_sid).order_by(InboundMessage.id)).all()
        states = session.scalars(sa.select(Invitation.state).where(Invitation.request_id == request_id)
                                 .order_by(Invitation.id)).all()
    return events, stored, states


@pytest.mark.parametrize("meanwhile", ["declined", "formed", "stored"])
def test_the_one_statement_answer_writes_nothing_when_its_read_went_stale(
        roster, open_request, engine, new_session, stale_read, meanwhile):
    """Between the first read and the write, Alex declined (another message), the quorum formed,
    or another delivery of the same message was stored: the statement writes nothing, and the
    reply then takes the locked path and counts as things now stand."""
    if meanwhile == "declined":
        reply(roster, engine, new_session, "Alex Green", "2", "SM8")
    elif meanwhile == "formed":
        for name, sid in (("Bea Hart", "SM5"), ("Cal Idris", "SM6"), ("Dee Jones", "SM7")):
            reply(roster, engine, new_session, name, "1", sid)
    else:
        reply(roster, engine, new_session, "Alex Green", "1", "SM9")
    before = written(new_session, open_request.id)

    assert answer_stale(engine, new_session, stale_read) is None
    assert written(new_session, open_request.id) == before

    outcome = reply(roster, engine, new_session, "Alex Green", "1", "SM9")[0]
    expected = {"declined": "joined (changed answer)", "formed": "late join: request already formed",
                "stored": "duplicate: already handled"}[meanwhile]
    assert outcome.outcome == expected
