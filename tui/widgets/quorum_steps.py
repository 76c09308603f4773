"""Escalation steps taken and replies nobody could read, newest last."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from roster.timeutil import LONDON


class QuorumSteps(Static):
    """The request's events as a timeline."""

    def show(self, events: list[dict]) -> None:
        # The gap is styled with the time, not with the text: a text span that starts with
        # spaces loses them in some SVG renderers (screenshots showed "11:00:00Requested").
        lines = [f"[dim]{e['at'].astimezone(LONDON):%H:%M:%S}  [/dim]{escape(e['text'])}" for e in events]
        self.update("\n".join(lines) or "[dim]No steps yet.[/dim]")


class QuorumUnparsed(Static):
    """Replies that were not understood, for the coordinator to read and act on."""

    def show(self, replies: list[dict]) -> None:
        self.display = bool(replies)
        lines = [
            f"[dim]{r['at'].astimezone(LONDON):%H:%M}[/dim]  [b]{escape(r['name'] or r['from_phone'])}[/b]: "
            f"“{escape(r['body'])}”"
            for r in reversed(replies)
        ]
        self.update("[b]Replies not understood[/b]\n" + "\n".join(lines))
