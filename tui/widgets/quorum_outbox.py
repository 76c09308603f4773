"""Outbox mode: the texts and calls waiting to be passed on by hand."""

from __future__ import annotations

from textual.widgets import DataTable

from roster.timeutil import LONDON

COLUMNS = (("at", "Time"), ("kind", "Kind"), ("to", "To"), ("body", "Message"))


class QuorumOutbox(DataTable):
    """Messages for this request in the outbox; the selected row's phone is offered for a reply."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._ids: list[int] = []
        self._phones: dict[str, str] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, messages: list[dict]) -> None:
        ids = [m["id"] for m in messages]
        if ids == self._ids:
            return
        at_end = self.cursor_row >= self.row_count - 1
        self.clear()
        for m in messages:
            self.add_row(f"{m['created_at'].astimezone(LONDON):%H:%M}", m["kind"], m["to"] or m["to_phone"], m["body"],
                         key=str(m["id"]))
            self._phones[str(m["id"])] = m["to_phone"]
        self._ids = ids
        if at_end and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    @property
    def selected_phone(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self._phones.get(row_key.value)
