"""Who may be asked, who is asked first, and the reasons given (both database backends)."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from roster.models import Role, Status
from roster.quorum.candidate_sql import week_start
from roster.quorum.candidates import candidates_for, candidates_for_request, next_candidates
from roster.quorum.invite import pick_wave
from roster.quorum.models import Invitation, QuorumRequest
from tests.quorum.conftest import NOW


def by_name(candidates):
    return {c.name: c for c in candidates}


def past_request(session, requester, *, joined=(), invited=(), at, state="formed"):
    """A finished request at ``at``: ``joined`` people joined, ``invited`` were only asked."""
    request = QuorumRequest(requester_id=requester.id, deadline_at=at + timedelta(minutes=20), state=state,
                            created_at=at, formed_at=at if state == "formed" else None)
    session.add(request)
    session.flush()
    for person in joined:
        session.add(Invitation(request_id=request.id, person_id=person.id, code="3", state="joined", created_at=at, answered_at=at))
    for person in invited:
        session.add(Invitation(request_id=request.id, person_id=person.id, code="3", state="no_answer", created_at=at))
    session.commit()
    return request


def test_each_rule_leaves_people_out_with_a_reason(roster, session):
    sam = roster.add("Sam Okafor")
    roster.add("Alex Green")
    roster.add("Bea Hart", status=Status.LEAVE)
    roster.add("Cal Idris", status=Status.SICK)
    roster.add("Dee Jones", status=Status.IN_FIELD)
    roster.add("Eve King", sms_opt_out=True)
    fin = roster.add("Fin Lowe")
    roster.add("Gus Moss", active=False)
    roster.add("Dr Hana Ng", Role.METATEAM)  # no consent recorded
    roster.add("Dr Ivo Pike", Role.METATEAM, consent=(2, time(13, 0), time(17, 0)))
    case = roster.case("C-1042", fin)

    found = by_name(candidates_for(session, requester_id=sam.id, case_id=case.id, now=NOW))

    assert "Gus Moss" not in found  # inactive people are not on the roster at all
    assert found["Sam Okafor"].left_out == ["the person asking"]
    assert found["Bea Hart"].left_out == ["on leave now"]
    assert found["Cal Idris"].left_out == ["off sick now"]
    assert found["Eve King"].left_out == ["opted out of SMS"]
    assert found["Fin Lowe"].left_out == ["involved in this case (too close to the family)"]
    assert found["Dr Hana Ng"].left_out == ["no MetaTeam consent recorded"]
    assert found["Dr Ivo Pike"].left_out == ["outside consented hours 13:00-17:00"]
    assert found["Alex Green"].eligible and found["Dee Jones"].eligible
    assert found["Dee Jones"].describe(NOW).startswith("keyworker, in the field")
    assert found["Bea Hart"].describe(NOW) == "left out: on leave now"


def test_metateam_weekly_limit_counts_joined_invitations_this_week(roster, session):
    sam = roster.add("Sam Okafor")
    nadia = roster.add("Dr Nadia Haddad", Role.METATEAM, consent=(2, time(9, 0), time(17, 0)))
    monday = week_start(NOW)
    assert monday == NOW.replace(hour=0)
    past_request(session, sam, joined=[nadia], at=monday - timedelta(hours=1))  # last week: does not count
    past_request(session, sam, invited=[nadia], at=monday + timedelta(hours=1))  # asked but did not join
    past_request(session, sam, joined=[nadia], at=monday + timedelta(hours=2))
    assert by_name(candidates_for(session, requester_id=sam.id, now=NOW))["Dr Nadia Haddad"].eligible

    past_request(session, sam, joined=[nadia], at=monday + timedelta(hours=3))
    nadia_now = by_name(candidates_for(session, requester_id=sam.id, now=NOW))["Dr Nadia Haddad"]
    assert nadia_now.left_out == ["weekly limit reached (2 of 2 this week)"]


def test_someone_sitting_in_another_open_quorum_is_left_out(roster, session):
    sam, alex, bea = roster.team("Sam Okafor", "Alex Green", "Bea Hart")
    past_request(session, sam, joined=[alex], invited=[bea], at=NOW - timedelta(minutes=5), state="open")
    found = by_name(candidates_for(session, requester_id=bea.id, now=NOW))
    assert found["Alex Green"].left_out == ["already sitting in another open quorum"]
    assert found["Sam Okafor"].eligible  # asking elsewhere is not sitting in a quorum

    # a quorum formed two hours ago is over; one formed ten minutes ago is still sitting
    session.add(QuorumRequest(requester_id=sam.id, deadline_at=NOW, state="formed", formed_at=NOW - timedelta(hours=2), created_at=NOW))
    session.commit()
    past_request(session, sam, joined=[sam], at=NOW - timedelta(minutes=10))
    assert by_name(candidates_for(session, requester_id=bea.id, now=NOW))["Sam Okafor"].left_out == [
        "already sitting in another open quorum"
    ]


def test_ranking_is_fit_then_fewest_served_then_longest_since_asked(roster, session):
    sam = roster.add("Sam Okafor")
    often = roster.add("Ann Often")
    recent = roster.add("Bob Recent")
    long_ago = roster.add("Cat Longago")
    never = roster.add("Dan Never")
    skilled = roster.add("Eli Skilled", skills=["self-harm"])
    roster.add("Dr Fay Meta", Role.METATEAM, skills=["self-harm"], consent=(5, time(8, 0), time(18, 0)))
    past_request(session, sam, joined=[often, skilled], at=NOW - timedelta(days=3))
    past_request(session, sam, joined=[often], at=NOW - timedelta(days=40))  # outside the 30 days
    past_request(session, sam, invited=[recent], at=NOW - timedelta(days=1))
    past_request(session, sam, invited=[long_ago], at=NOW - timedelta(days=20))

    ranked = [c for c in candidates_for(session, requester_id=sam.id, skills=["Self-Harm"], now=NOW) if c.eligible]
    assert [c.name for c in ranked] == ["Eli Skilled", "Dan Never", "Cat Longago", "Bob Recent", "Ann Often", "Dr Fay Meta"]
    assert [c.rank for c in ranked] == [1, 2, 3, 4, 5, 6]
    assert ranked[0].describe(NOW, ["self-harm"]) == (
        "keyworker, on duty; fits self-harm; 1 quorum in 30 days; last asked 3 days ago"
    )
    assert "none of the wanted skills" in ranked[1].describe(NOW, ["self-harm"])
    assert ranked[4].served_recently == 1 and never.id == ranked[1].person_id
    assert ranked[-1].tier == 2  # the MetaTeam is asked after keyworkers, however good the fit


def count_selects(engine, action):
    statements = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_candidate_selection_uses_the_same_few_queries_for_any_roster_size(roster, session, engine):
    sam_id = roster.add("Sam Okafor").id
    for n in range(5):
        roster.add(f"Worker {n}", skills=["self-harm"])

    def select_now():
        session.expire_all()
        return candidates_for(session, requester_id=sam_id, skills=["self-harm"], now=NOW)

    small = count_selects(engine, select_now)
    for n in range(5, 60):
        roster.add(f"Worker {n}", skills=["self-harm"], consent=None)
    large = count_selects(engine, select_now)
    assert small == large == 2  # the roster with everything it needs, and the matching skills
    assert len([c for c in select_now() if c.eligible]) == 60


def test_choosing_a_wave_in_sql_agrees_with_the_explained_ranking(roster, session):
    """``next_candidates`` (ranked and limited in SQL) picks exactly the top of ``candidates_for``."""
    sam = roster.add("Sam Okafor")
    people = [roster.add(f"Kw{n:02d} Test", skills=["self-harm"] if n % 3 == 0 else [],
                         status=Status.OFF if n % 7 == 3 else Status.ON_DUTY) for n in range(14)]
    consents = [(2, time(9, 0), time(17, 0)), (1, time(9, 0), time(17, 0)), (3, time(22, 0), time(12, 0)),
                (3, time(12, 0), time(18, 0)), (2, time(0, 0), time(23, 59))]
    metateam = [roster.add(f"Mt{n} Test", Role.METATEAM, consent=c, skills=["self-harm"] if n == 4 else [])
                for n, c in enumerate(consents)]
    roster.add("Ebe Test", Role.EXPERT_BY_EXPERIENCE)
    roster.add("Mgr Test", Role.MANAGER)
    past_request(session, sam, joined=[people[0], people[1]], at=NOW - timedelta(days=2))
    past_request(session, sam, joined=[metateam[1]], at=NOW - timedelta(hours=3))  # this week: Mt1's limit is 1
    past_request(session, sam, joined=[people[2]], invited=[people[4], people[5]], at=NOW - timedelta(days=1))
    past_request(session, sam, joined=[people[6]], at=NOW - timedelta(minutes=5), state="open")
    request = QuorumRequest(requester_id=sam.id, deadline_at=NOW, skills="Self-harm", created_at=NOW)
    session.add(request)
    session.commit()

    explained = [c for c in candidates_for_request(session, request, NOW) if c.eligible]
    for size in (1, 3, 8, 30):
        for metateam_needed in (0, 1, 2):
            chosen = pick_wave(next_candidates(session, request, NOW, size=size, metateam_needed=metateam_needed),
                               size, metateam_needed)
            expected = pick_wave(explained, size, metateam_needed)
            assert [c.person_id for c in chosen] == [c.person_id for c in expected], (size, metateam_needed)
    assert {c.name for c in explained if c.role == "metateam"} == {"Mt0 Test", "Mt2 Test", "Mt4 Test"}
