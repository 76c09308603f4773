"""Group series' case queues (reflective group supervision).

From the reflective group supervision model: "At the end of each meeting one or two
cases are identified for discussion for the following meeting" and "Each case
presented comes back for discussion in at a future date". A group keeps a queue of
case *references*; a session takes the first ``cases_per_session`` of them, and a
presented case is queued again to come back with feedback.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from roster.models import Case
from roster.supervision.agreements import SupervisionError
from roster.supervision.models import CaseItemPurpose, GroupCaseItem, SupervisionGroup, SupervisionSession
from roster.supervision.state import touch_plan
from roster.timeutil import ensure_aware, utcnow


def find_case(session: Session, reference: str) -> Case:
    """The case with this reference code (e.g. ``C-1042``)."""
    case = session.exec(select(Case).where(Case.reference == reference.strip().upper())).first()
    if case is None:
        raise SupervisionError(f"no case with reference '{reference}'")
    return case


def queue_case(
    session: Session, group: SupervisionGroup, reference: str, *,
    purpose: CaseItemPurpose = CaseItemPurpose.PRESENT, now: datetime | None = None,
) -> GroupCaseItem:
    """Put a case at the back of a group's queue (caller commits)."""
    now = ensure_aware(now or utcnow())
    case = find_case(session, reference)
    waiting = session.exec(
        select(GroupCaseItem).where(
            GroupCaseItem.group_id == group.id, GroupCaseItem.case_id == case.id,
            GroupCaseItem.session_id.is_(None), GroupCaseItem.purpose == purpose.value,
        )
    ).first()
    if waiting is not None:
        return waiting
    item = GroupCaseItem(group_id=group.id, case_id=case.id, purpose=purpose.value, queued_at=now)
    session.add(item)
    touch_plan(session, now)
    session.flush()
    return item


def waiting_items(session: Session, group_ids: list[int] | None = None) -> dict[int, list[tuple[str, str]]]:
    """Each group's queue in order, as ``(reference, purpose)`` pairs."""
    query = (
        select(GroupCaseItem.group_id, Case.reference, GroupCaseItem.purpose)
        .join(Case, Case.id == GroupCaseItem.case_id)
        .where(GroupCaseItem.session_id.is_(None))
        .order_by(GroupCaseItem.queued_at, GroupCaseItem.id)
    )
    if group_ids is not None:
        query = query.where(GroupCaseItem.group_id.in_(group_ids or [-1]))
    queues: dict[int, list[tuple[str, str]]] = {}
    for group_id, reference, purpose in session.exec(query):
        queues.setdefault(group_id, []).append((reference, purpose))
    return queues


def describe_item(reference: str, purpose: str) -> str:
    return f"{reference} (feedback)" if purpose == CaseItemPurpose.FEEDBACK else reference


def agenda_for_upcoming(queue: list[tuple[str, str]], per_session: int, sessions: int) -> list[list[str]]:
    """Share a queue over the next ``sessions`` group sessions, ``per_session`` each."""
    return [
        [describe_item(*item) for item in queue[n * per_session:(n + 1) * per_session]] for n in range(sessions)
    ]


def take_agenda(session: Session, row: SupervisionSession, group: SupervisionGroup, now: datetime) -> list[str]:
    """When a group session is held: its cases leave the queue and presented ones come back
    later for feedback. Returns the references brought. Caller commits."""
    items = list(
        session.exec(
            select(GroupCaseItem)
            .where(GroupCaseItem.group_id == group.id, GroupCaseItem.session_id.is_(None))
            .order_by(GroupCaseItem.queued_at, GroupCaseItem.id)
            .limit(group.cases_per_session)
        )
    )
    brought = []
    for item in items:
        item.session_id = row.id
        session.add(item)
        case = session.get(Case, item.case_id)
        brought.append(case.reference)
        if item.purpose == CaseItemPurpose.PRESENT:
            session.add(GroupCaseItem(group_id=group.id, case_id=item.case_id, purpose=CaseItemPurpose.FEEDBACK.value, queued_at=now))
    return brought
