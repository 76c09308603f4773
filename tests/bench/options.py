"""What every benchmark section receives from the runner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """``quick``: CI sizes (the whole run under 3 minutes); ``backends``: databases to measure."""

    quick: bool
    backends: tuple[str, ...]

    def pick(self, full, quick):
        """``quick`` in quick mode, else ``full``."""
        return quick if self.quick else full
