"""Compliance: overdue, not reconvened, records missing, case reviews, Think Family."""

from datetime import date, time, timedelta

from sqlmodel import select

from roster.models import Case, CaseInvolvement
from roster.supervision.agreements import create_group
from roster.supervision.changes import cancel, postpone, rebook, record_written
from roster.supervision.compliance import compliance_report
from roster.supervision.models import CaseReview, SupervisionSession
from roster.supervision.planner import plan_year
from roster.timeutil import local_datetime

from tests.supervision.conftest import NOW, agree

TODAY = date(2027, 3, 15)


def _sessions(session, agreement_id):
    return session.exec(
        select(SupervisionSession).where(SupervisionSession.agreement_id == agreement_id).order_by(SupervisionSession.starts_at)
    ).all()


def test_compliance_report_lists_breaches_most_urgent_first(session, make_person, make_team):
    north = make_team("North Outreach")
    manager = make_person("Morgan Ellis", role="manager", team=north)
    steady = make_person("Jo Campbell", team=north)
    struggling = make_person("Avery Mensah", team=north)
    steady_agreement = agree(session, manager, steady, weekday=0, frequency="4w")
    struggling_agreement = agree(session, manager, struggling, weekday=2, frequency="2w")
    chair = make_person("Dr Leah Goldberg", role="metateam")
    think_family = create_group(session, "Think Family North", "think_family", chair, [steady], team_id=north.id,
                                starts_on=date(2027, 1, 4), weekday=3, now=NOW)
    volunteer = make_person("Kim Walsh", role="expert_by_experience", team=north)  # no supervision of her own
    cases = [Case(reference=r) for r in ("C-1042", "C-1043", "C-1044", "C-1045")]
    session.add_all(cases)
    session.flush()
    session.add_all([CaseInvolvement(case_id=cases[0].id, person_id=steady.id),  # reviewed when held
                     CaseInvolvement(case_id=cases[1].id, person_id=struggling.id),
                     CaseInvolvement(case_id=cases[2].id, person_id=volunteer.id),
                     CaseInvolvement(case_id=cases[3].id, person_id=volunteer.id),
                     CaseReview(case_id=cases[0].id, reviewed_on=date(2026, 12, 1)),
                     CaseReview(case_id=cases[2].id, reviewed_on=date(2026, 11, 2))])
    session.commit()
    plan_year(session, 2027, now=NOW)

    for row in _sessions(session, steady_agreement.id)[:2]:  # 4 Jan and 1 Feb written up; 1 Mar not
        record_written(session, row.id, now=row.ends_at + timedelta(days=1))
    jan_6, jan_20, feb_3, feb_17, mar_3 = _sessions(session, struggling_agreement.id)[:5]
    for row in (jan_6, jan_20, feb_3):
        record_written(session, row.id, now=row.ends_at + timedelta(hours=2))
    postpone(session, feb_17.id, "supervisor off sick", now=NOW)
    cancel(session, mar_3.id, "clash with court", now=NOW)
    group_rows = session.exec(select(SupervisionSession).where(SupervisionSession.group_id == think_family.id)
                              .order_by(SupervisionSession.starts_at)).all()
    for row in group_rows[2:]:
        cancel(session, row.id, "clinician left", now=NOW)
    for row in group_rows[:2]:
        record_written(session, row.id, now=row.ends_at)

    report = compliance_report(session, TODAY)

    found = [(i.kind, i.person, i.subject, i.due_on, i.days_late, i.breach) for i in report.items]
    assert found == [
        ("case_review_overdue", "Kim Walsh", "C-1044", date(2027, 1, 25), 49, True),  # 12 weeks after 2 Nov
        ("overdue", "Avery Mensah", "Supervision: Morgan / Avery", date(2027, 2, 17), 26, True),  # last held 3 Feb
        ("not_reconvened", "Avery Mensah", "Supervision: Morgan / Avery", date(2027, 2, 24), 19, True),  # from 17 Feb
        ("record_missing", "Morgan Ellis", "Supervision: Morgan / Jo", date(2027, 3, 8), 7, True),  # of 1 March
        ("case_review_overdue", "Kim Walsh", "C-1045", TODAY, 0, True),
        ("think_family", "Jo Campbell", "Think Family consultation: Think Family North", date(2027, 12, 31), -291, False),
    ]
    assert "no review recorded" in report.items[4].detail
    reviewed = {r.case_id: r.reviewed_on for r in session.exec(select(CaseReview).where(CaseReview.session_id.is_not(None)))}
    assert reviewed == {cases[0].id: date(2027, 2, 1), cases[1].id: date(2027, 1, 6)}  # planned reviews, done when held
    assert report.by_person() == {
        "Avery Mensah": {"not_reconvened": 1, "overdue": 1},
        "Kim Walsh": {"case_review_overdue": 2},
        "Morgan Ellis": {"record_missing": 1},
    }
    assert report.by_team() == {"North Outreach": {"case_review_overdue": 2, "not_reconvened": 1, "overdue": 1, "record_missing": 1}}
    assert compliance_report(session, TODAY, team="South Outreach").items == []
    data = report.as_dict()
    assert data["breaches"] == 5 and data["items"][0]["teams"] == ["North Outreach"]


def test_a_late_rebooking_stays_a_breach_and_a_timely_one_clears_it(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    worker = make_person("Sam Okafor")
    agreement = agree(session, manager, worker, weekday=0, frequency="4w")
    plan_year(session, 2027, now=NOW)
    first, second = _sessions(session, agreement.id)[:2]
    postpone(session, first.id, "snow", now=NOW)
    rebook(session, first.id, now=NOW)  # Tue 5 Jan: in time
    postpone(session, second.id, "snow again", now=NOW)
    rebook(session, second.id, now=NOW, starts_at=local_datetime(date(2027, 2, 15), time(10)))  # after Mon 8 Feb

    kinds = [(i.kind, i.due_on, i.breach) for i in compliance_report(session, date(2027, 2, 20)).items if i.kind == "not_reconvened"]

    assert kinds == [("not_reconvened", date(2027, 2, 8), True)]
