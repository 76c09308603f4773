"""Agreements and group series seen the same way: who takes part, when, how often.

The planner, the change rules, compliance and the calendars all work on
:class:`Series`, loaded in a handful of queries however many agreements there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from functools import cached_property

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Person, TeamMembership
from roster.supervision.models import (
    AgreementKind,
    GroupKind,
    SupervisionAgreement,
    SupervisionGroup,
    SupervisionGroupMember,
    SupervisionSession,
)
from roster.supervision.rules import Frequency, agreement_frequency

AGREEMENT_TITLES = {
    AgreementKind.ONE_TO_ONE: "Supervision",
    AgreementKind.CLINICAL: "Clinical supervision",
    AgreementKind.CASELOAD: "Caseload supervision",
}
GROUP_TITLES = {
    GroupKind.REFLECTIVE_GROUP: "Reflective group supervision",
    GroupKind.TEAM_MEETING: "Team meeting",
    GroupKind.THINK_FAMILY: "Think Family consultation",
}

HONORIFICS = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "revd"}


def short_name(person: Person) -> str:
    """The name a calendar title uses: the first name, skipping a title (``Dr Nadia Haddad`` -> ``Nadia``)."""
    words = person.name.split()
    while len(words) > 1 and words[0].rstrip(".").lower() in HONORIFICS:
        words = words[1:]
    return words[0] if words else person.name


@dataclass(frozen=True)
class Series:
    """One agreement or one group series, with everything planning needs.

    Derived values are computed once (the planner asks for them thousands of times)."""

    kind: str
    agreement: SupervisionAgreement | None
    group: SupervisionGroup | None
    lead: Person
    others: tuple[Person, ...]

    @cached_property
    def key(self) -> tuple[str, int]:
        return ("agreement", self.agreement.id) if self.agreement else ("group", self.group.id)

    @property
    def source(self) -> SupervisionAgreement | SupervisionGroup:
        return self.agreement or self.group

    @property
    def is_group(self) -> bool:
        return self.group is not None

    @cached_property
    def people(self) -> tuple[Person, ...]:
        """Everyone who attends: supervisor then supervisee, or chair then members."""
        return (self.lead, *self.others)

    @property
    def supervisee(self) -> Person | None:
        return None if self.is_group else self.others[0]

    @cached_property
    def planning_ids(self) -> tuple[int, ...]:
        """Whose leave and working pattern decide a slot: both people of an agreement;
        a group's chair (a group meets even when one member is away)."""
        return (self.lead.id,) if self.is_group else tuple(p.id for p in self.people)

    @cached_property
    def attendee_ids(self) -> tuple[int, ...]:
        return tuple(p.id for p in self.people)

    @cached_property
    def title(self) -> str:
        """Calendar title, e.g. ``Supervision: Alex / Sam`` or ``Team meeting: North Outreach``."""
        if self.group is not None:
            return f"{GROUP_TITLES.get(self.group.kind, 'Group supervision')}: {self.group.name}"
        return f"{AGREEMENT_TITLES.get(self.kind, 'Supervision')}: {short_name(self.lead)} / {short_name(self.others[0])}"

    @cached_property
    def weekday(self) -> int | None:
        return self.source.weekday

    @cached_property
    def start_time(self) -> time:
        return self.source.start_time

    @cached_property
    def duration_minutes(self) -> int:
        return self.source.duration_minutes

    def frequency_at(self, day: date) -> Frequency:
        """The minimum frequency in force on ``day``."""
        if self.group is not None:
            return Frequency.parse(self.group.frequency)
        supervisee = self.others[0]
        return agreement_frequency(
            self.kind, self.agreement.frequency, supervisee.practice_stage, supervisee.employment,
            supervisee.stage_date, day,
        )

    def runs_on(self, day: date) -> bool:
        source = self.source
        return source.active and source.starts_on <= day and (source.ends_on is None or day <= source.ends_on)


def load_series(
    session: Session, *, team_id: int | None = None, include_inactive: bool = False,
    only: tuple[str, int] | None = None, involving: Iterable[int] | None = None,
) -> list[Series]:
    """Every group series then every agreement (groups first: one-to-ones fit around them).

    With ``team_id``: agreements whose supervisee is in the team, and groups of the
    team (or, for groups without a team, with a member or chair in it). With ``only``:
    just that series (a ``("agreement", id)`` or ``("group", id)`` key). With
    ``involving``: only series in which one of those people takes part.
    """
    groups = select(SupervisionGroup).order_by(SupervisionGroup.id)
    agreements = select(SupervisionAgreement).order_by(SupervisionAgreement.id)
    if only is not None:
        kind, wanted = only
        groups = groups.where(SupervisionGroup.id == (wanted if kind == "group" else -1))
        agreements = agreements.where(SupervisionAgreement.id == (wanted if kind == "agreement" else -1))
    if involving is not None:
        ids = list(involving) or [-1]
        as_member = select(SupervisionGroupMember.group_id).where(SupervisionGroupMember.person_id.in_(ids))
        groups = groups.where(sa.or_(SupervisionGroup.chair_id.in_(ids), SupervisionGroup.id.in_(as_member)))
        agreements = agreements.where(
            sa.or_(SupervisionAgreement.supervisor_id.in_(ids), SupervisionAgreement.supervisee_id.in_(ids))
        )
    groups = [g for g in session.exec(groups) if g.active or include_inactive]
    agreements = [a for a in session.exec(agreements) if a.active or include_inactive]
    narrowed = only is not None or involving is not None
    members = _members_by_group(session, [g.id for g in groups] if narrowed else None)
    people_query = select(Person)
    if narrowed:
        wanted_ids = {g.chair_id for g in groups} | {i for ids in members.values() for i in ids}
        wanted_ids |= {a.supervisor_id for a in agreements} | {a.supervisee_id for a in agreements}
        people_query = people_query.where(Person.id.in_(wanted_ids or [-1]))
    people = {p.id: p for p in session.exec(people_query)}
    team_people = None
    if team_id is not None:
        team_people = set(session.exec(select(TeamMembership.person_id).where(TeamMembership.team_id == team_id)))
    series: list[Series] = []
    for group in groups:
        others = tuple(people[i] for i in members.get(group.id, []) if i != group.chair_id)
        if team_people is not None and group.team_id != team_id:
            if group.team_id is not None or not ({group.chair_id, *(p.id for p in others)} & team_people):
                continue
        series.append(Series(group.kind, None, group, people[group.chair_id], others))
    for agreement in agreements:
        if team_people is not None and agreement.supervisee_id not in team_people:
            continue
        series.append(
            Series(agreement.kind, agreement, None, people[agreement.supervisor_id], (people[agreement.supervisee_id],))
        )
    return series


def _members_by_group(session: Session, group_ids: list[int] | None = None) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    query = select(SupervisionGroupMember).order_by(SupervisionGroupMember.person_id)
    if group_ids is not None:
        query = query.where(SupervisionGroupMember.group_id.in_(group_ids or [-1]))
    rows = session.exec(query)
    for row in rows:
        grouped.setdefault(row.group_id, []).append(row.person_id)
    return grouped


def key_of(row: SupervisionSession) -> tuple[str, int]:
    """The series key of a session row."""
    return ("agreement", row.agreement_id) if row.agreement_id is not None else ("group", row.group_id)


def series_of_session(session: Session, row: SupervisionSession) -> Series:
    """The series one session belongs to (active or not)."""
    found = load_series(session, include_inactive=True, only=key_of(row))
    if not found:
        raise LookupError(f"session {row.id} belongs to no agreement or group")
    return found[0]


def series_filter(series: Iterable[Series]):
    """SQL condition selecting the sessions of ``series``."""
    agreement_ids = [s.agreement.id for s in series if s.agreement is not None]
    group_ids = [s.group.id for s in series if s.group is not None]
    return sa.or_(
        SupervisionSession.agreement_id.in_(agreement_ids or [-1]),
        SupervisionSession.group_id.in_(group_ids or [-1]),
    )
