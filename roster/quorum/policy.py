"""The escalation policy: how fast and how wide a quorum request reaches out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from roster.models import Role
from roster.quorum.models import QuorumRequest

# The urgent preset ("in the thick of it, I need people now"), chosen per request. Time-to-quorum
# simulation (tests/bench/time_to_quorum.py, 60 runs a point; invite-everyone forms in 0.51 min
# with 80 messages for 2 people, 0.68 min / 80 for 3): the default (need+1 by SMS, calls and the
# next wave after 3 min) forms in 3.51 min / 13.4 messages (need 2) and 4.08 min / 18.4 (need 3),
# and no SMS-only setting gets within 1.3x of invite-everyone on half its messages. Texting AND
# calling a first wave of need+4 at once, next wave after 2 min: 0.43 min / 19.1 messages (need 2),
# 0.73 min / 23.1 (need 3), within the target (need+2 is borderline: 0.66 and 3.39 min).
URGENT_EXTRA_PER_WAVE = 4
URGENT_VOICE_AFTER = timedelta(0)
URGENT_WAVE_INTERVAL = timedelta(minutes=2)


@dataclass(frozen=True)
class EscalationPolicy:
    """Configurable timings and reach of the escalation clock (defaults follow the issue).

    - the first wave invites ``need + extra_per_wave`` people by SMS;
    - after ``voice_after`` without enough joins, silent invitees are called by voice
      (``voice_after`` of zero: every invitation is texted and called at once);
    - after ``wave_interval`` (or at once when nobody is left waiting) a further wave is
      invited, sized to what is still missing plus ``extra_per_wave``;
    - ``first_roles`` are asked first, in that order (keyworkers, then managers);
      ``wider_roles`` (MetaTeam, Experts by Experience) only when the first run out,
      or for the MetaTeam places a request asks for;
    - a request stops at its deadline (``deadline_minutes`` by default);
    - ``voice_configured``: calls really ring a phone (Twilio voice is set up); in outbox
      mode they only wait in the outbox, so the urgent preset does not call at once.
    """

    extra_per_wave: int = 1
    voice_after: timedelta = timedelta(minutes=3)
    wave_interval: timedelta = timedelta(minutes=3)
    voice_enabled: bool = True
    deadline_minutes: int = 20
    first_roles: tuple[str, ...] = (Role.KEYWORKER.value, Role.MANAGER.value)
    wider_roles: tuple[str, ...] = (Role.METATEAM.value, Role.EXPERT_BY_EXPERIENCE.value)
    fairness_window: timedelta = timedelta(days=30)
    sitting_for: timedelta = timedelta(hours=1)
    conference_number: str | None = None
    voice_configured: bool = True

    def tier(self, role: str) -> int | None:
        """0, 1, ... for the first roles in order, then one tier for all wider roles; None: never asked."""
        if role in self.first_roles:
            return self.first_roles.index(role)
        return len(self.first_roles) if role in self.wider_roles else None

    @property
    def wider_tier(self) -> int:
        return len(self.first_roles)

    @property
    def calls_at_once(self) -> bool:
        """Whether each invitation is called by voice as it is texted (no wait for a reply)."""
        return self.voice_enabled and self.voice_after <= timedelta(0)

    def with_conference_number(self, number: str | None) -> EscalationPolicy:
        """The same policy, telling joiners which number dials them into the conference."""
        return replace(self, conference_number=number)

    def urgent(self) -> EscalationPolicy:
        """This policy for an urgent request: a first wave of need+4 texted and called at once,
        the next wave after 2 minutes (same deadline, roles, conference number). Without Twilio
        voice (outbox mode) urgent requests are only texted at once; calls keep their usual wait."""
        calls_now = self.voice_enabled and self.voice_configured
        return replace(self, extra_per_wave=URGENT_EXTRA_PER_WAVE, wave_interval=URGENT_WAVE_INTERVAL,
                       voice_after=URGENT_VOICE_AFTER if calls_now else self.voice_after)


DEFAULT_POLICY = EscalationPolicy()


def policy_for(settings) -> EscalationPolicy:
    """The default policy, with the conference number when Twilio voice is configured."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    configured = bool(settings.twilio_account_sid and token and settings.twilio_from_number)
    policy = replace(DEFAULT_POLICY, voice_configured=configured)
    return policy.with_conference_number(settings.twilio_from_number if configured else None)


def policy_for_request(policy: EscalationPolicy, request: QuorumRequest) -> EscalationPolicy:
    """The policy that applies to one request: the service's, or its urgent variant."""
    return policy.urgent() if request.urgent else policy
