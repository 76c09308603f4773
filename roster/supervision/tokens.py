"""Secret calendar-feed tokens: 256 random bits, stored only as SHA-256, revocable.

A token is shown once, when issued; Dive Boat keeps its hash, so a lost feed URL is
replaced (rotated), never recovered. Lookups hash the presented token and compare
digests in constant time; a revoked or unknown token simply finds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from roster.supervision.models import CalendarFeedToken
from roster.timeutil import ensure_aware, utcnow

TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128


@dataclass(frozen=True)
class FeedSubject:
    """Whose feed a token opens: a person's or a team's."""

    person_id: int | None
    team_id: int | None

    @property
    def key(self) -> tuple[str, int]:
        return ("person", self.person_id) if self.person_id is not None else ("team", self.team_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def active_token(session: Session, subject: FeedSubject) -> CalendarFeedToken | None:
    """The subject's current (unrevoked) token record, if any."""
    return session.exec(_subject_query(subject).where(CalendarFeedToken.revoked_at.is_(None))).first()


def issue_token(session: Session, subject: FeedSubject, *, now: datetime | None = None, rotate: bool = False) -> str:
    """A new token for ``subject`` (returned once, never stored). Commits.

    Without ``rotate`` an existing active token is an error (it cannot be shown
    again); with it, every earlier token of the subject is revoked.
    """
    now = ensure_aware(now or utcnow())
    current = list(session.exec(_subject_query(subject).where(CalendarFeedToken.revoked_at.is_(None))))
    if current and not rotate:
        raise TokenExists(current[0].created_at)
    for record in current:
        record.revoked_at = now
        session.add(record)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        CalendarFeedToken(token_hash=hash_token(token), person_id=subject.person_id, team_id=subject.team_id, created_at=now)
    )
    session.commit()
    return token


def revoke_tokens(session: Session, subject: FeedSubject, *, now: datetime | None = None) -> int:
    """Revoke every active token of ``subject``; returns how many. Commits."""
    now = ensure_aware(now or utcnow())
    records = list(session.exec(_subject_query(subject).where(CalendarFeedToken.revoked_at.is_(None))))
    for record in records:
        record.revoked_at = now
        session.add(record)
    session.commit()
    return len(records)


def resolve_token(session: Session, token: str) -> FeedSubject | None:
    """Whose feed ``token`` opens, or None if it is unknown or revoked."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    record = session.exec(select(CalendarFeedToken).where(CalendarFeedToken.token_hash == digest)).first()
    if record is None or record.revoked_at is not None or not hmac.compare_digest(record.token_hash, digest):
        return None
    return FeedSubject(person_id=record.person_id, team_id=record.team_id)


class TokenExists(Exception):
    """The subject already has a feed token; only its hash is kept, so it must be rotated."""

    def __init__(self, created_at: datetime) -> None:
        super().__init__(created_at)
        self.created_at = created_at


def _subject_query(subject: FeedSubject):
    query = select(CalendarFeedToken)
    if subject.person_id is not None:
        return query.where(CalendarFeedToken.person_id == subject.person_id)
    return query.where(CalendarFeedToken.team_id == subject.team_id)
