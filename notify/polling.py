"""Replies without a public URL: list inbound SMS to our number through the Messages API.

Each new message is fed to the roster's reply handler, which is idempotent on the
MessageSid, so overlapping polls (or a webhook that also got through) count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from roster.db import SessionFactory
from roster.quorum.handling import TYPED_PREFIX, record_sms_reply
from roster.quorum.models import Channel, InboundMessage
from roster.quorum.policy import policy_for
from roster.settings import Settings
from roster.timeutil import utcnow
from notify.twilio_client import make_client

DEFAULT_LOOKBACK = timedelta(hours=1)
#: How far back a starting server looks for replies it missed while it was down.
CATCH_UP_LIMIT = timedelta(hours=24)
#: Polls look back a little before the newest message seen: clocks and API filters are coarse.
OVERLAP = timedelta(minutes=2)
PAGE_SIZE = 200


@dataclass
class PollReport:
    """What one polling pass found."""

    listed: int = 0
    recorded: int = 0  # new replies (one a webhook or another poller already stored does not count)


class InboxPoller:
    """Polls our number's inbound SMS, remembering where it got to between passes."""

    def __init__(self, settings: Settings, new_session: SessionFactory, *, since: datetime | None = None) -> None:
        self.settings = settings
        self.new_session = new_session
        self.since = since or utcnow() - DEFAULT_LOOKBACK
        self.policy = policy_for(settings)
        self._seen: dict[str, datetime] = {}
        self._client = None

    def poll(self) -> PollReport:
        """One pass: list messages sent to our number since the last pass, record the new ones."""
        if self._client is None:
            self._client = make_client(self.settings)
        messages = self._client.messages.list(
            to=self.settings.twilio_from_number, date_sent_after=self.since - OVERLAP, page_size=PAGE_SIZE
        )
        inbound = [m for m in messages if m.direction == "inbound" and m.sid not in self._seen]
        inbound.sort(key=lambda m: (m.date_sent or m.date_created or self.since, m.sid))  # oldest first
        report = PollReport(listed=len(messages))
        for message in inbound:
            received = message.date_sent or message.date_created or utcnow()
            with self.new_session() as session:
                outcome = record_sms_reply(session, from_phone=message.from_, body=message.body or "",
                                           provider_sid=message.sid, received_at=received, policy=self.policy)
            self._seen[message.sid] = received
            self.since = max(self.since, received)
            report.recorded += not outcome.duplicate
        self._forget_old()
        return report

    def _forget_old(self) -> None:
        horizon = self.since - 2 * OVERLAP
        self._seen = {sid: at for sid, at in self._seen.items() if at >= horizon}


def poll_inbound(settings: Settings, new_session: SessionFactory, since: datetime) -> PollReport:
    """One polling pass over messages sent to our number since ``since``."""
    return InboxPoller(settings, new_session, since=since).poll()


def catch_up(settings: Settings, new_session: SessionFactory, *, now: datetime | None = None) -> PollReport:
    """Replies sent while no server was listening: one polling pass over messages to our number
    since the last SMS reply recorded (at most :data:`CATCH_UP_LIMIT` ago). ``diveboat serve``
    runs it as it starts; replies a webhook also delivers count once."""
    now = now or utcnow()
    with new_session() as session:
        last = session.exec(
            select(sa.func.max(InboundMessage.received_at)).where(
                InboundMessage.channel == Channel.SMS.value, InboundMessage.provider_sid.not_like(f"{TYPED_PREFIX}%"))
        ).one()
    since = max(last, now - CATCH_UP_LIMIT) if last else now - CATCH_UP_LIMIT
    return InboxPoller(settings, new_session, since=since).poll()
