"""The year as a grid of months (working days only), marking supervision days.

Marks are characters as well as colours: ``•`` booked, ``✓`` held, ``×`` postponed or
cancelled (nothing else that day), ``–`` bank holiday; today is shown reversed.
"""

from __future__ import annotations

import calendar
from datetime import date

from rich.text import Text
from textual.widgets import Static

from roster.supervision.views import SessionView

MONTHS_PER_ROW = 4
CELL = 3
GAP = "  "
STYLES = {
    "booked": ("•", "bold black on green"),
    "held": ("✓", "black on dark_green"),
    "off": ("×", "bold white on dark_red"),
    "holiday": ("–", "dim italic"),
    "plain": (" ", ""),
}
LEGEND = (("booked", "booked"), ("held", "held"), ("off", "postponed/cancelled"), ("holiday", "bank holiday"))


def day_marks(sessions: list[SessionView]) -> dict[date, str]:
    """What each day shows: held beats booked beats postponed/cancelled."""
    rank = {"off": 0, "booked": 1, "held": 2}
    marks: dict[date, str] = {}
    for view in sessions:
        mark = "held" if view.status == "held" else "booked" if view.status == "booked" else "off"
        day = view.local_start.date()
        if rank[mark] >= rank.get(marks.get(day), -1):
            marks[day] = mark
    return marks


def render_year(year: int, sessions: list[SessionView], holidays: dict[date, str], today: date) -> Text:
    """Twelve months, four to a row, Monday to Friday."""
    marks = day_marks(sessions)
    text = Text()
    for first in range(1, 13, MONTHS_PER_ROW):
        blocks = [_month(year, month, marks, holidays, today) for month in range(first, first + MONTHS_PER_ROW)]
        height = max(len(b) for b in blocks)
        for line in range(height):
            for index, block in enumerate(blocks):
                if index:
                    text.append(GAP)
                text.append_text(block[line] if line < len(block) else Text(" " * (5 * CELL)))
            text.append("\n")
    text.append_text(_legend())
    return text


def _month(year: int, month: int, marks: dict[date, str], holidays: dict[date, str], today: date) -> list[Text]:
    width = 5 * CELL
    lines = [Text(f"{calendar.month_name[month]} {year}".center(width), style="bold"),
             Text("".join(f"{d:>{CELL}}" for d in ("Mo", "Tu", "We", "Th", "Fr")), style="dim")]
    for week in calendar.Calendar().monthdatescalendar(year, month):
        if all(d.month != month for d in week[:5]):
            continue
        line = Text()
        for day in week[:5]:
            if day.month != month:
                line.append(" " * CELL)
                continue
            kind = marks.get(day) or ("holiday" if day in holidays else "plain")
            symbol, style = STYLES[kind]
            if day == today:
                style = f"{style} reverse".strip()
            line.append(f"{symbol}{day.day:>2}", style=style)
        lines.append(line)
    return lines


def _legend() -> Text:
    legend = Text("\n")
    for kind, words in LEGEND:
        symbol, style = STYLES[kind]
        legend.append(f" {symbol} ", style=style)
        legend.append(f" {words}   ")
    legend.append(" today ", style="reverse")
    return legend


class YearGrid(Static):
    """Shows a year it is given; knows nothing of the database."""

    def show(self, year: int, sessions: list[SessionView], holidays: dict[date, str], today: date) -> None:
        self.update(render_year(year, sessions, holidays, today))
