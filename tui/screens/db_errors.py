"""Screens' database work in worker threads that outlives the database going away: instead of
ending the dashboard, a failed read tells the user once (the screen's next refresh tries again),
and a failed write says it was not saved."""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa
from textual.message import Message

from roster.db import DatabaseError


#: What a worker catches when the database is unreachable, locked or refuses (not a bug in our code).
DATABASE_ERRORS = (sa.exc.SQLAlchemyError, DatabaseError)


def error_line(error: Exception) -> str:
    """The first line of an error's message (its type's name if it has none), for a notice."""
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__


class ReadFailed(Message):
    """The read ``reader`` (of ``what``) failed: the database is unreachable, locked or refused."""

    def __init__(self, reader: str, what: str, error: Exception) -> None:
        super().__init__()
        self.reader = reader
        self.text = f"Could not read {what}: {error_line(error)}"


class ReadWorked(Message):
    """The read ``reader`` succeeded."""

    def __init__(self, reader: str) -> None:
        super().__init__()
        self.reader = reader


def reports_read_failures(what: str) -> Callable:
    """Decorate a screen's read (run in a worker): a database error is posted to the screen as
    :class:`ReadFailed` instead of ending the app; a read that works posts :class:`ReadWorked`."""

    def decorate(read: Callable) -> Callable:
        @functools.wraps(read)
        def guarded(screen, *args, **kwargs):
            try:
                result = read(screen, *args, **kwargs)
            except DATABASE_ERRORS as error:
                screen.post_message(ReadFailed(read.__name__, what, error))
                return None
            screen.post_message(ReadWorked(read.__name__))
            return result

        return guarded

    return decorate


class ReadFailureNotices:
    """For a screen whose reads use :func:`reports_read_failures`: one notice when its reads start
    failing (the screen keeps what it showed), one when every read that failed works again."""

    failing_reads: frozenset[str] = frozenset()

    def on_read_failed(self, message: ReadFailed) -> None:
        if not self.failing_reads:
            self.notify(f"{message.text}. Trying again.", severity="error", timeout=10)
        self.failing_reads = self.failing_reads | {message.reader}

    def on_read_worked(self, message: ReadWorked) -> None:
        if message.reader in self.failing_reads:
            self.failing_reads = self.failing_reads - {message.reader}
            if not self.failing_reads:
                self.notify("Reading the database again.", timeout=3)
