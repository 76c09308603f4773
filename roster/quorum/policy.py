"""The escalation policy: how fast and how wide a quorum request reaches out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from roster.models import Role


@dataclass(frozen=True)
class EscalationPolicy:
    """Configurable timings and reach of the escalation clock (defaults follow the issue).

    - the first wave invites ``need + extra_per_wave`` people by SMS;
    - after ``voice_after`` without enough joins, silent invitees are called by voice;
    - after ``wave_interval`` (or at once when nobody is left waiting) a further wave is
      invited, sized to what is still missing plus ``extra_per_wave``;
    - ``first_roles`` are asked first, in that order (keyworkers, then managers);
      ``wider_roles`` (MetaTeam, Experts by Experience) only when the first run out,
      or for the MetaTeam places a request asks for;
    - a request stops at its deadline (``deadline_minutes`` by default).
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

    def tier(self, role: str) -> int | None:
        """0, 1, ... for the first roles in order, then one tier for all wider roles; None: never asked."""
        if role in self.first_roles:
            return self.first_roles.index(role)
        return len(self.first_roles) if role in self.wider_roles else None

    @property
    def wider_tier(self) -> int:
        return len(self.first_roles)

    def with_conference_number(self, number: str | None) -> EscalationPolicy:
        """The same policy, telling joiners which number dials them into the conference."""
        return replace(self, conference_number=number)


DEFAULT_POLICY = EscalationPolicy()


def policy_for(settings) -> EscalationPolicy:
    """The default policy, with the conference number when Twilio voice is configured."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    configured = bool(settings.twilio_account_sid and token and settings.twilio_from_number)
    return DEFAULT_POLICY.with_conference_number(settings.twilio_from_number if configured else None)
