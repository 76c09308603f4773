"""Read-only views of quorum requests for the CLI and the dashboard (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Case, Person
from roster.quorum.candidates import candidates_for, candidates_for_request
from roster.quorum.models import (
    InboundMessage,
    Invitation,
    InvitationState,
    MessageStatus,
    OutboundMessage,
    QuorumEvent,
    QuorumRequest,
    RequestState,
)
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy
from roster.quorum.store import first_name
from roster.timeutil import ensure_aware, utcnow


@dataclass
class InviteeView:
    name: str
    first_name: str
    phone: str
    role: str
    wave: int
    code: str
    state: str
    invited_at: datetime
    answered_at: datetime | None
    voice_called_at: datetime | None
    error_code: str | None
    error_text: str | None
    why_picked: str


@dataclass
class RequestView:
    """Everything the quorum screen and ``quorum status`` show about one request."""

    id: int
    state: str
    requester: str
    requester_phone: str
    case: str | None
    need: int
    need_metateam: int
    skills: list[str]
    reason: str
    created_at: datetime
    deadline_at: datetime
    seconds_left: int
    formed_at: datetime | None
    closed_at: datetime | None
    next_step: str | None
    conference_name: str | None
    urgent: bool
    joined: list[str]
    invitees: list[InviteeView]
    not_invited: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    unparsed: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def request_view(
    session: Session, request_id: int, *, now: datetime | None = None, policy: EscalationPolicy | None = None,
    with_candidates: bool = True,
) -> RequestView | None:
    """One request with its invitees, who was left out and why, events, unparsed replies and messages."""
    now = ensure_aware(now or utcnow())
    request = session.get(QuorumRequest, request_id, populate_existing=True)
    if request is None:
        return None
    requester = session.get(Person, request.requester_id)
    case = session.get(Case, request.case_id) if request.case_id else None
    rows = session.exec(
        select(Invitation, Person).join(Person, Person.id == Invitation.person_id)
        .where(Invitation.request_id == request_id).order_by(Invitation.wave, Invitation.id)
    ).all()
    invitees = [
        InviteeView(
            name=p.name, first_name=first_name(p.name), phone=p.phone, role=p.role, wave=i.wave, code=i.code, state=i.state,
            invited_at=i.created_at, answered_at=i.answered_at, voice_called_at=i.voice_called_at,
            error_code=i.error_code, error_text=i.error_text, why_picked=i.reason_picked,
        )
        for i, p in rows
    ]
    joined = sorted(
        (v for v in invitees if v.state == InvitationState.JOINED.value), key=lambda v: (v.answered_at, v.name)
    )
    not_invited = []
    if with_candidates and request.state == RequestState.OPEN.value:
        not_invited = [
            {"name": c.name, "rank": c.rank, "why": c.describe(now, request.skill_list)}
            for c in candidates_for_request(session, request, now, policy or DEFAULT_POLICY)
            if c.invitation_state is None
        ]
    left = int((request.deadline_at - now).total_seconds()) if request.state == RequestState.OPEN.value else 0
    return RequestView(
        id=request.id, state=request.state, requester=requester.name, requester_phone=requester.phone,
        case=case.reference if case else None, need=request.need, need_metateam=request.need_metateam,
        skills=request.skill_list, reason=request.reason, created_at=request.created_at, deadline_at=request.deadline_at,
        seconds_left=max(0, left), formed_at=request.formed_at, closed_at=request.closed_at, next_step=request.next_step,
        conference_name=request.conference_name, urgent=request.urgent, joined=[v.name for v in joined], invitees=invitees,
        not_invited=not_invited, events=_events(session, request_id), unparsed=unparsed_replies(session, request_id),
        messages=message_rows(session, request_id=request_id),
    )


def _events(session: Session, request_id: int) -> list[dict]:
    rows = session.exec(
        select(QuorumEvent).where(QuorumEvent.request_id == request_id).order_by(QuorumEvent.at, QuorumEvent.id)
    )
    return [{"at": e.at, "text": e.text} for e in rows]


def unparsed_replies(session: Session, request_id: int | None = None, limit: int = 50) -> list[dict]:
    """Replies nobody could read (for a request, or all), newest first."""
    query = (
        select(InboundMessage, Person.name)
        .outerjoin(Person, Person.phone == InboundMessage.from_phone)
        .where(InboundMessage.understood.is_(False))
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    if request_id is not None:
        query = query.join(Invitation, Invitation.id == InboundMessage.invitation_id).where(Invitation.request_id == request_id)
    return [
        {"at": m.received_at, "from_phone": m.from_phone, "name": name, "body": m.body, "outcome": m.outcome}
        for m, name in session.exec(query)
    ]


def message_rows(
    session: Session, *, request_id: int | None = None, statuses: tuple[str, ...] = (), limit: int = 200
) -> list[dict]:
    """Outbound messages (for a request, or the outbox), oldest first, with recipient names."""
    query = (
        select(OutboundMessage, Person.name)
        .outerjoin(Person, Person.phone == OutboundMessage.to_phone)
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
        .limit(limit)
    )
    if request_id is not None:
        query = query.where(OutboundMessage.request_id == request_id)
    if statuses:
        query = query.where(OutboundMessage.status.in_(statuses))
    return [
        {
            "id": m.id, "kind": m.kind, "to_phone": m.to_phone, "to": name, "body": m.body, "status": m.status,
            "error": m.error_text, "request_id": m.request_id, "created_at": m.created_at, "sent_at": m.sent_at,
        }
        for m, name in session.exec(query)
    ]


def outbox(session: Session, limit: int = 200) -> list[dict]:
    """Messages waiting in outbox mode for a person to pass on (newest last)."""
    return message_rows(session, statuses=(MessageStatus.OUTBOX.value,), limit=limit)


def list_requests(session: Session, open_only: bool = False, limit: int = 200) -> list[dict]:
    """Requests, newest first, with counts of people invited and joined."""
    joined = sa.func.sum(sa.case((Invitation.state == InvitationState.JOINED.value, 1), else_=0))
    query = (
        select(QuorumRequest, Person.name, Case.reference, sa.func.count(Invitation.id), sa.func.coalesce(joined, 0))
        .join(Person, Person.id == QuorumRequest.requester_id)
        .outerjoin(Case, Case.id == QuorumRequest.case_id)
        .outerjoin(Invitation, Invitation.request_id == QuorumRequest.id)
        .group_by(QuorumRequest.id, Person.name, Case.reference)
        .order_by(QuorumRequest.created_at.desc(), QuorumRequest.id.desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(QuorumRequest.state == RequestState.OPEN.value)
    return [
        {
            "id": r.id, "state": r.state, "requester": name, "case": reference, "need": r.need,
            "need_metateam": r.need_metateam, "urgent": r.urgent, "invited": invited, "joined": int(joined_count),
            "created_at": r.created_at, "deadline_at": r.deadline_at, "formed_at": r.formed_at,
        }
        for r, name, reference, invited, joined_count in session.exec(query)
    ]


def request_ids(session: Session, limit: int = 200) -> list[int]:
    """The ids of :func:`list_requests`, in its order, without its counts (a screen reads them every second)."""
    query = select(QuorumRequest.id).order_by(QuorumRequest.created_at.desc(), QuorumRequest.id.desc()).limit(limit)
    return list(session.exec(query))


def explain_candidates(
    session: Session, *, requester_id: int, case_id: int | None = None, skills=(), request_id: int | None = None,
    now: datetime | None = None, policy: EscalationPolicy | None = None,
) -> list[dict]:
    """Why each person would be picked (in order) or is left out, for a new or existing request."""
    now = ensure_aware(now or utcnow())
    skills = list(skills)
    return [
        {"name": c.name, "role": c.role, "status": c.status, "rank": c.rank, "eligible": c.eligible,
         "invitation": c.invitation_state, "why": c.describe(now, skills)}
        for c in candidates_for(session, requester_id=requester_id, case_id=case_id, skills=skills,
                                request_id=request_id, now=now, policy=policy or DEFAULT_POLICY)
    ]
