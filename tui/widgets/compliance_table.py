"""The compliance table: breaches most urgent first; reports which person is selected."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from roster.supervision.compliance import KIND_LABELS, ComplianceItem

COLUMNS = (("late", "Urgency"), ("kind", "What"), ("person", "Person"), ("teams", "Team"),
           ("subject", "About"), ("detail", "Detail"))


def urgency_text(item: ComplianceItem) -> Text:
    """How late, in words, coloured by severity (the words carry the meaning)."""
    if not item.breach:
        return Text("coming due", style="dim")
    if item.days_late <= 0:
        return Text(" due today ", style="black on yellow")
    return Text(f" {item.days_late} days late ", style="bold white on dark_red" if item.days_late > 7 else "black on yellow")


class ComplianceTable(DataTable):
    """A row per item, in the order given."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.items: list[ComplianceItem] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, items: list[ComplianceItem]) -> None:
        row = self.cursor_row
        self.clear()
        self.items = items
        for index, item in enumerate(items):
            self.add_row(urgency_text(item), KIND_LABELS[item.kind], item.person, ", ".join(item.teams) or "—",
                         item.subject, item.detail, key=str(index))
        if items:
            self.move_cursor(row=min(row, len(items) - 1))

    @property
    def selected_item(self) -> ComplianceItem | None:
        if not self.row_count:
            return None
        return self.items[self.cursor_row]
