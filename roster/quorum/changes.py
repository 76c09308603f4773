"""A cheap check for "has anything about this request changed?", so a screen can re-read
the whole request as soon as it has, without re-reading it many times a second."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from roster.quorum.models import InboundMessage, Invitation, OutboundMessage, QuorumEvent, QuorumRequest


def request_fingerprint(session: Session, request_id: int) -> tuple:
    """Values that change when what a request's view shows changes: its state and next step,
    how many invitations are in each state, its steps, its messages, and the newest reply
    received (replies that match no invitation are shown too). A few indexed reads; a change
    it could miss (two invitations swapping states between checks) is caught by the screen's
    regular full refresh."""
    connection = session.connection()
    request = connection.execute(
        sa.select(QuorumRequest.state, QuorumRequest.next_step, QuorumRequest.conference_name)
        .where(QuorumRequest.id == request_id)
    ).first()
    invitations = connection.execute(
        sa.select(Invitation.state, sa.func.count(), sa.func.count(Invitation.voice_called_at))
        .where(Invitation.request_id == request_id).group_by(Invitation.state).order_by(Invitation.state)
    ).all()
    steps = connection.execute(sa.select(sa.func.max(QuorumEvent.id)).where(QuorumEvent.request_id == request_id)).scalar()
    messages = connection.execute(
        sa.select(sa.func.count(), sa.func.count(OutboundMessage.sent_at), sa.func.count(OutboundMessage.error_code))
        .where(OutboundMessage.request_id == request_id)
    ).first()
    newest_reply = connection.execute(sa.select(sa.func.max(InboundMessage.id))).scalar()
    return (tuple(request or ()), tuple(map(tuple, invitations)), steps, tuple(messages), newest_reply)
