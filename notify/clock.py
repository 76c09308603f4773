"""The escalation clock: every few seconds, advance open quorum requests and send what they queued.

Used by ``diveboat serve``, ``diveboat poll --watch`` and the dashboard. Several loops
may run at once (dashboard + server, or several servers on PostgreSQL): ``advance``
and ``claim_outbound`` take their work under database locks, so nothing is sent twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from roster.db import SessionFactory
from roster.quorum.escalation import advance
from roster.quorum.policy import EscalationPolicy, policy_for
from roster.settings import Settings
from roster.timeutil import utcnow
from notify.dispatch import DeliveryReport, deliver_pending, worker_name
from notify.polling import InboxPoller, PollReport, catch_up
from notify.sending import SendingProcess
from notify.twilio_client import twilio_configured

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 2.0


def should_poll(settings: Settings) -> bool:
    """Poll for replies when Twilio is configured but no public URL lets it call us."""
    return twilio_configured(settings) and not settings.public_url


@dataclass
class TickReport:
    """What one turn of the clock did."""

    steps: list[str] = field(default_factory=list)
    polled: PollReport | None = None
    delivered: DeliveryReport = field(default_factory=DeliveryReport)


class EscalationLoop:
    """Advance + poll (when needed) + deliver, on demand (:meth:`tick`) or in a thread.

    ``catch_up`` (``diveboat serve``): before the first turn in the thread, read the
    replies that came while no server was listening. ``sending``: make the Twilio
    requests in that process (see :class:`~notify.sending.SendingProcess`).
    """

    def __init__(self, settings: Settings, new_session: SessionFactory, *, interval: float = DEFAULT_INTERVAL_SECONDS,
                 clock: Callable[[], datetime] = utcnow, policy: EscalationPolicy | None = None,
                 poll: bool | None = None, catch_up: bool = False, sending: SendingProcess | None = None) -> None:
        self.settings = settings
        self.new_session = new_session
        self.interval = interval
        self.clock = clock
        self.policy = policy or policy_for(settings)
        self.sending = sending
        self.worker = worker_name()
        self.poller = InboxPoller(settings, new_session) if (should_poll(settings) if poll is None else poll) else None
        self.catch_up = catch_up and twilio_configured(settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> TickReport:
        """One turn: escalate, read new replies, escalate again if any came, send."""
        report = TickReport(steps=self._advance())
        if self.poller is not None:
            report.polled = self.poller.poll()
            if report.polled.recorded:
                report.steps += self._advance()
        report.delivered = deliver_pending(self.settings, self.new_session, worker=self.worker, now=self.clock(),
                                           sending=self.sending)
        return report

    def _advance(self) -> list[str]:
        with self.new_session() as session:
            return advance(session, now=self.clock(), policy=self.policy)

    def wake(self) -> None:
        """Run the next turn now instead of at the end of the interval."""
        self._wake.set()

    def run_forever(self) -> None:
        """Tick every ``interval`` seconds until :meth:`stop`; a failing turn is logged, not fatal.

        With ``catch_up``, first read the replies sent while nothing was listening (see
        :func:`notify.polling.catch_up`).
        """
        if self.catch_up:
            try:
                found = catch_up(self.settings, self.new_session, now=self.clock()).recorded
                if found:
                    log.info("read %d repl%s sent while the server was down", found, "y" if found == 1 else "ies")
            except Exception:
                log.exception("could not read the replies sent while the server was down")
        while not self._stop.is_set():
            try:
                report = self.tick()
                for step in report.steps:
                    log.info("quorum: %s", step)
            except Exception:
                log.exception("escalation turn failed; trying again in %.0f s", self.interval)
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> EscalationLoop:
        """Run :meth:`run_forever` in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="diveboat-escalation", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current turn and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
