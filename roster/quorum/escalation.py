"""The escalation clock: what happens to open requests as time passes.

Run by ``diveboat serve`` and by the dashboard, possibly both at once and on several
servers: each request is worked on under its row lock (PostgreSQL ``FOR UPDATE SKIP
LOCKED``; SQLite's ``BEGIN IMMEDIATE``) and re-read once locked, so a step taken by
one process is seen, not repeated, by the next.
"""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.db import reading
from roster.models import Person
from roster.quorum import messages
from roster.quorum.candidates import next_candidates
from roster.quorum.invite import invite, pick_wave, quorum_met, still_needed, wave_note
from roster.quorum.lifecycle import close, form
from roster.quorum.models import (
    Invitation,
    InvitationState,
    MessageKind,
    QuorumEvent,
    QuorumRequest,
    RequestState,
)
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy, policy_for_request
from roster.quorum.store import add_event, first_name, lock_request, queue_message, request_party
from roster.timeutil import ensure_aware, utcnow

NOBODY_LEFT = "Nobody else can be asked now"
WAITING = (InvitationState.QUEUED.value, InvitationState.SENT.value, InvitationState.DELIVERED.value)


def advance(session: Session, now: datetime | None = None, policy: EscalationPolicy | None = None) -> list[str]:
    """Advance every open request once; returns the steps taken (empty when nothing was due).

    Per request, in order: expire it at the deadline; call silent invitees by voice
    after ``policy.voice_after``; invite a further wave after ``policy.wave_interval``
    (or at once when nobody is left waiting), widening to the MetaTeam and Experts by
    Experience when keyworkers run out. ``policy`` is the service's: urgent requests
    follow its urgent variant.
    """
    now = ensure_aware(now or utcnow())
    policy = policy or DEFAULT_POLICY
    open_ids = due_request_ids(session, now, policy)
    session.commit()
    steps: list[str] = []
    for request_id in open_ids:
        try:
            steps.extend(_advance_request(session, request_id, now, policy))
            session.commit()
        except Exception:
            session.rollback()
            raise
    return steps


def due_request_ids(session: Session, now: datetime, policy: EscalationPolicy) -> list[int]:
    """Open requests that may have a step due at ``now`` (one read, no locks: on SQLite no
    writer's lock either), so the clock locks only those instead of every open request on every turn.

    A superset of what :func:`_advance_request` acts on: the deadline has passed; enough
    people have joined; someone has been silent longer than ``voice_after``; nobody is left
    waiting; or the last wave is older than ``wave_interval`` (each for the request's own
    policy: the service's, or its urgent variant).
    """
    urgent = policy.urgent()
    parameters = {"now": now}
    for name, own in (("usual", policy), ("urgent", urgent)):
        parameters[f"{name}_silent_since"] = now - own.voice_after
        parameters[f"{name}_wave_since"] = now - own.wave_interval
    query = _due_query(policy.voice_enabled, urgent.voice_enabled)
    with reading(session) as connection:
        return list(connection.execute(query, parameters).scalars())


@functools.lru_cache(maxsize=4)
def _due_query(usual_voice: bool, urgent_voice: bool) -> sa.Select:
    """The statement behind :func:`due_request_ids`, built once per kind of policy (the clock runs
    it every turn): parameters ``now`` and, for ``usual`` and ``urgent`` requests,
    ``<kind>_silent_since`` and ``<kind>_wave_since``."""
    request = QuorumRequest.__table__.c

    def invitations():  # a fresh alias per subquery, each tied to the outer request
        table = Invitation.__table__.alias()
        return table.c, table.c.request_id == request.id

    waves, mine = invitations()
    # two levels down: tie it to the outer request explicitly (automatic correlation stops one level up)
    last_wave = (sa.select(sa.func.max(waves.wave)).where(mine)
                 .correlate(QuorumRequest.__table__).scalar_subquery())
    starts, mine = invitations()
    last_wave_start = sa.select(sa.func.min(starts.created_at)).where(mine, starts.wave == last_wave).scalar_subquery()
    joins, mine = invitations()
    joined = sa.select(sa.func.count()).where(mine, joins.state == InvitationState.JOINED.value).scalar_subquery()
    pending, mine = invitations()
    waiting = sa.select(sa.func.count()).where(mine, pending.state.in_(WAITING)).scalar_subquery()

    def overdue(kind: str, voice: bool):
        silent, mine = invitations()
        silent_too_long = sa.exists().where(
            mine, silent.state.in_([InvitationState.SENT.value, InvitationState.DELIVERED.value]),
            silent.voice_called_at.is_(None), silent.created_at <= sa.bindparam(f"{kind}_silent_since"),
        ) if voice else sa.false()
        return sa.and_(request.urgent.is_(kind == "urgent"),
                       sa.or_(silent_too_long, last_wave_start <= sa.bindparam(f"{kind}_wave_since")))

    return sa.select(request.id).where(
        request.state == RequestState.OPEN.value,
        sa.or_(
            request.deadline_at <= sa.bindparam("now"),
            joined >= request.need,
            waiting == 0,
            overdue("usual", usual_voice),
            overdue("urgent", urgent_voice),
        ),
    ).order_by(request.id)


def _advance_request(session: Session, request_id: int, now: datetime, policy: EscalationPolicy) -> list[str]:
    request = lock_request(session, request_id, skip_locked=True)
    if request is None or request.state != RequestState.OPEN.value:
        return []
    policy = policy_for_request(policy, request)
    if quorum_met(session, request.id, request.need, request.need_metateam):
        form(session, request, now, policy)
        return [f"request {request.id}: formed"]
    if now >= request.deadline_at:
        return [f"request {request.id}: {close(session, request, RequestState.EXPIRED, now)}"]
    steps = []
    if policy.voice_enabled:
        steps += _call_silent(session, request, now, policy)
    steps += _next_wave(session, request, now, policy)
    return steps


def _call_silent(session: Session, request: QuorumRequest, now: datetime, policy: EscalationPolicy) -> list[str]:
    silent = session.exec(
        select(Invitation, Person)
        .join(Person, Person.id == Invitation.person_id)
        .where(
            Invitation.request_id == request.id,
            Invitation.state.in_([InvitationState.SENT.value, InvitationState.DELIVERED.value]),
            Invitation.voice_called_at.is_(None),
            Invitation.created_at <= now - policy.voice_after,
        )
        .order_by(Invitation.id)
    ).all()
    if not silent:
        return []
    requester, case_reference = request_party(session, request)
    script = messages.voice_script(first_name(requester.name), case_reference)
    for invitation, person in silent:
        invitation.voice_called_at = now
        session.add(invitation)
        queue_message(
            session, kind=MessageKind.VOICE, to_phone=person.phone, body=script, request_id=request.id,
            invitation_id=invitation.id, now=now,
        )
    names = ", ".join(first_name(p.name) for _, p in silent)
    minutes = int(policy.voice_after.total_seconds() // 60)
    add_event(session, request.id, f"No reply after {minutes} min: calling {names} by voice", now)
    return [f"request {request.id}: calling {names}"]


def _next_wave(session: Session, request: QuorumRequest, now: datetime, policy: EscalationPolicy) -> list[str]:
    last_wave, waiting = session.exec(
        select(
            sa.func.max(Invitation.wave),
            sa.func.sum(sa.case((Invitation.state.in_(WAITING), 1), else_=0)),
        ).where(Invitation.request_id == request.id)
    ).one()
    last_wave = last_wave or 0
    wave_started = _wave_start(session, request.id, last_wave) if last_wave else request.created_at
    if waiting and now < wave_started + policy.wave_interval:
        return []
    if _recently_noted(session, request.id, NOBODY_LEFT, now - policy.wave_interval):
        return []
    remaining, metateam_remaining = still_needed(session, request)
    size = remaining + policy.extra_per_wave
    candidates = next_candidates(session, request, now, policy, size=size, metateam_needed=metateam_remaining)
    people = pick_wave(candidates, size, metateam_remaining)
    if not people:
        add_event(session, request.id, NOBODY_LEFT, now)
        return [f"request {request.id}: nobody else can be asked"]
    wave = last_wave + 1
    note = wave_note(wave, people, metateam_remaining, policy)
    invite(session, request, people, wave=wave, now=now, note=note, policy=policy)
    return [f"request {request.id}: {note.lower()}: {', '.join(c.first_name for c in people)}"]


def _wave_start(session: Session, request_id: int, wave: int) -> datetime:
    return session.exec(
        select(sa.func.min(Invitation.created_at)).where(Invitation.request_id == request_id, Invitation.wave == wave)
    ).one()


def _recently_noted(session: Session, request_id: int, text: str, since: datetime) -> bool:
    latest = session.exec(
        select(QuorumEvent).where(QuorumEvent.request_id == request_id).order_by(QuorumEvent.at.desc(), QuorumEvent.id.desc())
    ).first()
    return latest is not None and latest.text == text and latest.at > since
