"""How the dashboard writes statuses, times and roles (presentation only)."""

from __future__ import annotations

from datetime import datetime, time
from functools import cache

from rich.text import Text

from roster.models import Status
from roster.timeutil import LONDON

STATUS_STYLES = {
    Status.ON_DUTY: ("on duty", "bold black on green"),
    Status.IN_FIELD: ("in field", "bold black on dark_cyan"),
    Status.OFF: ("off", "dim"),
    Status.LEAVE: ("leave", "black on yellow"),
    Status.SICK: ("sick", "bold white on red"),
}

ROLE_LABELS = {
    "keyworker": "Keyworker",
    "metateam": "MetaTeam",
    "expert_by_experience": "Expert by Exp.",
    "manager": "Manager",
}


@cache
def status_text(status: Status) -> Text:
    """A status as a coloured word (colour is never the only signal). Shared: do not modify."""
    word, style = STATUS_STYLES[status]
    return Text(f" {word:<8} ", style=style)


def shift_text(shift: tuple[time, time] | None) -> str:
    return f"{shift[0]:%H:%M}–{shift[1]:%H:%M}" if shift else "—"


def when_text(moment: datetime | None, now: datetime) -> str:
    """A near time as ``15:00``, a later one as ``Tue 09:00`` or ``3 Dec 09:00``."""
    if moment is None:
        return "—"
    local, local_now = moment.astimezone(LONDON), now.astimezone(LONDON)
    days = (local.date() - local_now.date()).days
    if days == 0:
        return f"{local:%H:%M}"
    if 0 < days < 7:
        return f"{local:%a %H:%M}"
    return f"{local:%-d %b %H:%M}"


def clock_text(now: datetime) -> str:
    return f"{now.astimezone(LONDON):%a %-d %b %Y  %H:%M}"
