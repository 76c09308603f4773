"""The head of the quorum screen: state, who asked, how many joined, the countdown."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from roster.quorum.views import RequestView

STATE_WORDS = {"open": "OPEN", "formed": "FORMED ✓", "expired": "NOT FORMED", "cancelled": "CANCELLED"}


def countdown(view: RequestView, now: datetime) -> str:
    """``12:34 left`` while open, else the moment it ended."""
    if view.state != "open":
        return ""
    seconds = max(0, int((view.deadline_at - now).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d} left"


class QuorumSummary(Static):
    """One or two lines summing up a request."""

    def show(self, view: RequestView, now: datetime) -> None:
        self.set_classes(f"state-{view.state}")
        case = f" · case {view.case}" if view.case else ""
        need = f"need {view.need}" + (f" ({view.need_metateam} MetaTeam)" if view.need_metateam else "")
        joined = ", ".join(view.joined) or "nobody yet"
        left = countdown(view, now)
        skills = f" · skills: {', '.join(view.skills)}" if view.skills else ""
        self.update(
            f"[b]Request #{view.id} · {STATE_WORDS.get(view.state, view.state)}[/b]"
            + (" · [b]urgent[/b]" if view.urgent else "")
            + (f" · [b]{left}[/b]" if left else "")
            + f"\nFor [b]{view.requester}[/b]{case} · {need} · joined {len(view.joined)}: {joined}{skills}"
        )
