"""What every ``diveboat`` command shares: settings, the database, and output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import Enum

import click
import sqlalchemy as sa

from roster.db import SessionFactory, open_database, session_factory
from roster.settings import Settings


class UserError(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"diveboat: error: {self.format_message()}", err=True)


@dataclass
class CliContext:
    """Settings plus a lazily opened (and upgraded) database."""

    settings: Settings
    _engine: sa.Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = open_database(self.settings.db)
        return self._engine

    @property
    def new_session(self) -> SessionFactory:
        return session_factory(self.engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


pass_context = click.make_pass_decorator(CliContext)


def _plain(value):
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def echo_json(data) -> None:
    """Print ``data`` as stable, indented JSON (ISO dates, plain strings for enums)."""
    click.echo(json.dumps(data, indent=2, default=_plain, ensure_ascii=False))


def progress(iterable, label: str, length: int | None = None):
    """A progress bar on stderr for long jobs (silent when stderr is not a terminal)."""
    return click.progressbar(iterable, label=label, length=length, file=sys.stderr)
