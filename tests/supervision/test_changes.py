"""Postpone, cancel, rebook within five working days, mark held, records, case reviews."""

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import select

from roster.models import Case, CaseInvolvement
from roster.supervision.agreements import SupervisionError, create_group
from roster.supervision.changes import cancel, mark_held, postpone, rebook, record_written
from roster.supervision.groups import queue_case, waiting_items
from roster.supervision.models import CaseReview, SupervisionSession
from roster.supervision.planner import plan_year
from roster.timeutil import LONDON, local_datetime

from tests.supervision.conftest import NOW, agree, leave


@pytest.fixture
def pair(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    worker = make_person("Sam Okafor")
    agreement = agree(session, manager, worker, weekday=0, frequency="4w")
    plan_year(session, 2027, now=NOW)
    rows = session.exec(select(SupervisionSession).order_by(SupervisionSession.starts_at)).all()
    return manager, worker, agreement, rows


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LONDON)


def test_postponing_proposes_the_next_free_slot_within_five_working_days(session, pair):
    manager, worker, _, rows = pair
    target = rows[2]  # Mon 1 March 2027
    assert _local(target.starts_at).date() == date(2027, 3, 1)

    proposal = postpone(session, target.id, "supervisor called to court", now=NOW)

    assert proposal.reconvene_by == date(2027, 3, 8)
    assert _local(proposal.slot.starts_at) == datetime(2027, 3, 2, 10, 0, tzinfo=LONDON)
    assert not proposal.breach
    stored = session.get(SupervisionSession, target.id)
    assert (stored.status, stored.sequence, stored.reason) == ("postponed", 1, "supervisor called to court")


def test_leave_and_sickness_push_the_proposal_and_a_late_one_is_a_breach(session, pair):
    manager, worker, _, rows = pair
    leave(session, manager, date(2027, 3, 2), date(2027, 3, 5))
    leave(session, worker, date(2027, 3, 8), date(2027, 3, 12), status="sick")

    proposal = postpone(session, rows[2].id, "supervisee on a home visit", now=NOW)

    assert proposal.reconvene_by == date(2027, 3, 8)
    assert proposal.slot.local_day == date(2027, 3, 15)
    assert proposal.breach


def test_rebooking_takes_the_proposed_slot_once(session, pair):
    _, _, _, rows = pair
    proposal = postpone(session, rows[2].id, "room double-booked", now=NOW)

    rebooked = rebook(session, rows[2].id, now=NOW)

    assert rebooked.session.starts_at == proposal.slot.starts_at
    assert rebooked.session.rebook_of_id == rows[2].id and not rebooked.breach
    with pytest.raises(SupervisionError, match="already been rebooked"):
        rebook(session, rows[2].id, now=NOW)


def test_rebooking_at_a_chosen_time_checks_it_and_flags_lateness(session, pair):
    manager, _, _, rows = pair
    postpone(session, rows[2].id, "training day", now=NOW)
    with pytest.raises(SupervisionError, match="not a working day"):
        rebook(session, rows[2].id, now=NOW, starts_at=local_datetime(date(2027, 3, 6), time(10)))
    leave(session, manager, date(2027, 3, 9), date(2027, 3, 9))
    with pytest.raises(SupervisionError, match="not free for everyone"):
        rebook(session, rows[2].id, now=NOW, starts_at=local_datetime(date(2027, 3, 9), time(10)))

    late = rebook(session, rows[2].id, now=NOW, starts_at=local_datetime(date(2027, 3, 10), time(15)))

    assert late.breach and late.reconvene_by == date(2027, 3, 8)


def test_only_sensible_changes_are_allowed_and_a_reason_is_required(session, pair):
    _, _, _, rows = pair
    with pytest.raises(SupervisionError, match="give a reason"):
        postpone(session, rows[0].id, "   ", now=NOW)
    cancel(session, rows[0].id, "agreement ended", now=NOW)
    with pytest.raises(SupervisionError, match="only a booked session can be postponed"):
        postpone(session, rows[0].id, "again", now=NOW)
    with pytest.raises(SupervisionError, match="only a postponed session can be rebooked"):
        rebook(session, rows[1].id, now=NOW)
    with pytest.raises(SupervisionError, match="has not started yet"):
        mark_held(session, rows[1].id, now=NOW)
    with pytest.raises(SupervisionError, match="no supervision session 9999"):
        cancel(session, 9999, "x", now=NOW)


def test_holding_a_session_records_its_planned_case_reviews(session, pair):
    _, worker, _, rows = pair
    case = Case(reference="C-1042")
    session.add(case)
    session.flush()
    session.add(CaseInvolvement(case_id=case.id, person_id=worker.id))
    session.commit()
    after = rows[0].ends_at + timedelta(hours=1)

    mark_held(session, rows[0].id, now=after)

    reviews = session.exec(select(CaseReview)).all()
    assert [(r.case_id, r.reviewed_on, r.session_id) for r in reviews] == [(case.id, date(2027, 1, 4), rows[0].id)]
    assert session.get(SupervisionSession, rows[0].id).recorded_at is None
    record_written(session, rows[0].id, now=after + timedelta(days=1))
    assert session.get(SupervisionSession, rows[0].id).recorded_at == after + timedelta(days=1)


def test_a_group_takes_its_cases_and_presented_cases_come_back(session, make_person):
    chair = make_person("Dr Nadia Haddad", role="metateam")
    members = [make_person("Sam Okafor"), make_person("Jo Campbell")]
    group = create_group(session, "Reflective group", "reflective_group", chair, members, starts_on=date(2027, 1, 4),
                         weekday=2, cases_per_session=1, now=NOW)
    for reference in ("C-1042", "C-1043"):
        session.add(Case(reference=reference))
    session.commit()
    queue_case(session, group, "c-1042", now=NOW)
    queue_case(session, group, "C-1043", now=NOW + timedelta(seconds=1))
    session.commit()
    plan_year(session, 2027, now=NOW)
    first = session.exec(select(SupervisionSession).order_by(SupervisionSession.starts_at)).first()

    mark_held(session, first.id, now=first.ends_at)

    assert waiting_items(session)[group.id] == [("C-1043", "present"), ("C-1042", "feedback")]
    with pytest.raises(SupervisionError, match="no case with reference 'C-9999'"):
        queue_case(session, group, "C-9999", now=NOW)
