"""``diveboat quorum ...`` in outbox mode (no Twilio credentials), through ``tui.cli.main``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from roster.models import AvailabilityWindow, Case, CaseInvolvement, Person
from roster.timeutil import utcnow
from tui.cli import main

TEAM = {"Sam Okafor": "+447700900100", "Alex Green": "+447700900101", "Bea Hart": "+447700900102",
        "Cal Idris": "+447700900103", "Dee Jones": "+447700900104"}


@pytest.fixture
def team(session):
    now = utcnow()
    for name, phone in TEAM.items():
        person = Person(name=name, phone=phone, role="keyworker")
        session.add(person)
        session.flush()
        session.add(AvailabilityWindow(person_id=person.id, status="on_duty", starts_at=now - timedelta(hours=1),
                                       ends_at=now + timedelta(hours=6)))
    case = Case(reference="C-1042")
    session.add(case)
    session.flush()
    session.add(CaseInvolvement(case_id=case.id, person_id=session.get(Person, 5).id))  # Dee is too close
    session.commit()


@pytest.fixture
def diveboat(db_url, capsys):
    """Run ``diveboat --db URL ARGS``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["--db", db_url, *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def test_request_reply_form_conference_and_note_in_outbox_mode(team, diveboat):
    code, out, err = diveboat("quorum", "request", "--for", "Sam", "--case", "C-1042", "--reason", "worried about mum")
    assert code == 0, err
    assert out.splitlines()[0].startswith("Quorum request 1 for Sam Okafor (case C-1042): 2 needed by ")
    assert "invited Alex Green" in out and "invited Dee Jones" not in out
    assert "3 in the outbox" in out

    code, out, _ = diveboat("quorum", "outbox", "--json")
    outbox = json.loads(out)
    assert [m["to"] for m in outbox] == ["Alex Green", "Bea Hart", "Cal Idris"]
    assert all("worried" not in m["body"] and "C-1042" in m["body"] for m in outbox)

    assert "joined (request 1)" in diveboat("quorum", "reply", "--from", "+447700900101", "1")[1]
    assert "declined" in diveboat("quorum", "reply", "--from", "Bea Hart", "no")[1]
    code, out, _ = diveboat("quorum", "reply", "--from", "07700 900103", "J")
    assert "joined: quorum formed" in out and "in the outbox" in out

    code, out, _ = diveboat("quorum", "status", "1")
    assert "FORMED" in out.splitlines()[0] and "joined: Alex Green, Cal Idris" in out
    status = json.loads(diveboat("quorum", "status", "1", "--json")[1])
    assert status["state"] == "formed" and status["joined"] == ["Alex Green", "Cal Idris"]
    assert [i["state"] for i in status["invitees"]] == ["joined", "declined", "joined"]
    assert {"id", "case", "need", "deadline_at", "events", "unparsed", "messages", "next_step"} <= set(status)

    code, out, _ = diveboat("quorum", "conference", "1")
    assert code == 0 and "Calling 3 people into the conference" in out
    assert diveboat("quorum", "next-step", "1", "Sam calls C-1042's school today")[0] == 0
    assert json.loads(diveboat("quorum", "status", "1", "--json")[1])["next_step"] == "Sam calls C-1042's school today"


def test_list_and_cancel(team, diveboat):
    diveboat("quorum", "request", "--for", "Sam", "--need", "1")
    diveboat("quorum", "request", "--for", "Dee", "--need", "1", "--json")
    assert diveboat("quorum", "cancel", "1")[1].startswith("Quorum request 1 cancelled.")
    rows = json.loads(diveboat("quorum", "list", "--json")[1])
    assert [(r["id"], r["state"]) for r in rows] == [(2, "open"), (1, "cancelled")]
    assert [r["id"] for r in json.loads(diveboat("quorum", "list", "--open", "--json")[1])] == [2]
    assert "cancelled" in diveboat("quorum", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quorum", "request", "--for", "Nobody"], "diveboat: error: nobody on the roster is called 'Nobody'"),
        (["quorum", "request", "--for", "Sam", "--need", "0"], "diveboat: error: --need must be between 1 and 12"),
        (["quorum", "request", "--for", "Sam", "--case", "C-9"], "diveboat: error: no case with reference 'C-9'"),
        (["quorum", "status", "42"], "diveboat: error: no quorum request 42"),
        (["quorum", "cancel", "42"], "diveboat: error: no quorum request 42"),
        (["quorum", "conference", "42"], "diveboat: error: no quorum request 42"),
    ],
)
def test_bad_input_is_one_clear_line(team, diveboat, args, message):
    code, out, err = diveboat(*args)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_explain_says_who_would_be_asked_and_why_not(team, diveboat):
    rows = json.loads(diveboat("quorum", "explain", "--for", "Sam", "--case", "C-1042", "--json")[1])
    why = {r["name"]: r["why"] for r in rows}
    assert why["Dee Jones"] == "left out: involved in this case (too close to the family)"
    assert why["Sam Okafor"] == "left out: the person asking"
    assert [r["rank"] for r in rows if r["eligible"]] == [1, 2, 3]


def test_an_urgent_request_is_marked_in_status_and_list(team, diveboat):
    code, out, err = diveboat("quorum", "request", "--for", "Sam", "--need", "1", "--urgent")
    assert code == 0, err
    assert out.splitlines()[0].startswith("Urgent quorum request 1 for Sam Okafor: 1 needed by ")
    assert "4 in the outbox" in out  # need+4 asked (everyone free); no Twilio: texts only, no calls
    assert {m["kind"] for m in json.loads(diveboat("quorum", "outbox", "--json")[1])} == {"sms"}
    diveboat("quorum", "request", "--for", "Dee", "--need", "1")
    assert json.loads(diveboat("quorum", "status", "1", "--json")[1])["urgent"] is True
    assert json.loads(diveboat("quorum", "status", "2", "--json")[1])["urgent"] is False
    assert [(r["id"], r["urgent"]) for r in json.loads(diveboat("quorum", "list", "--json")[1])] == [(2, False), (1, True)]
    assert "URGENT" in diveboat("quorum", "status", "1")[1].splitlines()[0]
    assert [line.endswith("urgent") for line in diveboat("quorum", "list")[1].splitlines()] == [False, True]
