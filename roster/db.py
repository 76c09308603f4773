"""Database engines, sessions and schema upgrades. Nothing here runs at import time.

SQLite runs in WAL mode with a busy timeout, and every transaction that may write
starts with ``BEGIN IMMEDIATE``: pysqlite's deferred ``BEGIN`` lets two processes
read the same row and both write, silently losing one update. Read-only sessions
(``read_session``) use a deferred ``BEGIN`` so the dashboard never blocks writers.
PostgreSQL connections are checked before use only when they sat idle in the pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY = "diveboat_read_only"
#: PostgreSQL connections kept open for reuse. A server's threads (its eight webhook database
#: threads, the escalation clock, delivery passes, feed rendering) each hold one while they
#: work; with SQLAlchemy's default of 5 the ones beyond it were closed when handed back and
#: reopened (a new server backend each time) all through a burst of replies. Opened only when needed.
POSTGRES_POOL_SIZE = 16
#: A pooled PostgreSQL connection idle longer than this is pinged before use (see ``_ping_when_idle``).
POSTGRES_PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "diveboat_idle_since"
# The newest migration(s). Opening a database already here skips Alembic altogether (one
# SELECT instead of importing Alembic and every migration); a test keeps it in step.
SCHEMA_HEADS = frozenset({"0006_urgent_requests"})


class DatabaseError(RuntimeError):
    """A database could not be opened or upgraded; the message says what to fix."""


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``; a SQLite file's folder is created if missing."""
    url = normalise_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # never echo the URL: it may hold a password
        raise DatabaseError("the database URL is not valid (try sqlite:///path/to/file.db or postgresql://user@host/db)") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database '{parsed.get_backend_name()}' (use sqlite:/// or postgresql://)")
    if parsed.get_backend_name() != "sqlite":
        engine = sa.create_engine(url, echo=echo, pool_size=POSTGRES_POOL_SIZE, max_overflow=POSTGRES_POOL_SIZE)
        _ping_when_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(f"cannot create the folder {folder} for the database: {error.strerror}") from None
    engine = sa.create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before handing it out when it sat idle for a second or more
    (a database restart or a dropped network shows up there), replacing it if dead.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip for each
    webhook, hundreds a second. A connection used a moment ago is alive; should it have
    died since, its error makes SQLAlchemy discard the whole pool.
    """

    def idle_from_now(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < POSTGRES_PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError("the pooled connection is dead") from error  # the pool connects anew

    sa.event.listen(engine, "connect", idle_from_now)
    sa.event.listen(engine, "checkin", idle_from_now)
    sa.event.listen(engine, "checkout", ping_if_idle)


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class ChangeWatch:
    """Tells cheaply whether the database may have changed since the last look: :meth:`marker`
    returns a value that differs after any commit (a few false alarms, never a missed change).

    SQLite: ``PRAGMA data_version`` on a connection of the watch's own, which changes when
    another connection commits (so every other connection's writes count, in this process or
    another). PostgreSQL: the server's current WAL position, which moves with every write to any
    of its databases. Read the marker *before* reading the data it guards: a commit in between
    shows up again next time, at worst one read too many. Calls from several threads take turns.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._own = None  # SQLite: the watch's own DB-API connection, opened on first use
        self._lock = threading.Lock()

    def marker(self) -> object | None:
        """A value to compare with the last one; None when this database cannot tell (read anyway)."""
        with self._lock:
            try:
                if self._engine.dialect.name == "sqlite":
                    if self._own is None:
                        self._own = self._engine.raw_connection()
                    cursor = self._own.cursor()
                    try:  # autocommit: this opens no transaction, so it never holds back a checkpoint
                        return cursor.execute("PRAGMA data_version").fetchone()[0]
                    finally:
                        cursor.close()
                with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    return connection.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar()
            except (sa.exc.DBAPIError, self._engine.dialect.loaded_dbapi.Error):
                # e.g. a standby (no WAL position of its own), or the database went away
                self._close_own()
                return None

    def close(self) -> None:
        """Give the watch's own connection back."""
        with self._lock:
            self._close_own()

    def _close_own(self) -> None:
        if self._own is not None:
            own, self._own = self._own, None
            try:
                own.close()
            except (sa.exc.DBAPIError, self._engine.dialect.loaded_dbapi.Error):
                pass  # a connection that broke is discarded by the pool


#: A :class:`ReadWhenChanged` reads again at least this often, even when nothing seems to have changed.
READ_MAX_AGE = timedelta(minutes=1)

T = TypeVar("T")


class ReadWhenChanged(Generic[T]):
    """``load(session, moment)`` again only when its last result may be out of date: the database
    may have changed (:class:`ChangeWatch`), the moment reached the result's ``expires(result)``
    (when something in it is due to change by the clock alone; None: nothing is), it is
    :data:`READ_MAX_AGE` old, or the clock went back. Calls from several threads take turns.

    A dashboard that refreshes every second read the whole roster each time: with 2,000 people
    that kept a core half busy on a slow machine and held up the screen's own drawing.
    """

    def __init__(self, engine: Engine, load: Callable[[Session, datetime], T],
                 expires: Callable[[T], datetime | None] = lambda _result: None) -> None:
        self._engine = engine
        self._load = load
        self._expires = expires
        self._watch = ChangeWatch(engine)
        self._marker: object | None = None
        self._read_at: datetime | None = None
        self._good_until: datetime | None = None
        self._lock = threading.Lock()
        self.reads = 0  # how many times it read from the database

    def read(self, moment: datetime, *, force: bool = False) -> T | None:
        """What ``load`` gives at ``moment``, or None when the last result is still true then."""
        with self._lock:
            marker = self._watch.marker()  # before the read: a commit in between shows up next time
            if (not force and self._read_at is not None and marker is not None and marker == self._marker
                    and self._read_at <= moment < self._good_until):
                return None
            with read_session(self._engine) as session:
                result = self._load(session, moment)
            expires = self._expires(result)
            self._marker, self._read_at = marker, moment
            self._good_until = min(moment + READ_MAX_AGE, expires) if expires else moment + READ_MAX_AGE
            self.reads += 1
            return result

    def close(self) -> None:
        """Give back the connection it watches the database with."""
        self._watch.close()


SessionFactory = Callable[[], Session]


def session_factory(engine: Engine) -> SessionFactory:
    """A callable returning new sessions bound to ``engine`` (objects survive commit)."""

    def new_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return new_session


@contextmanager
def reading(session: Session) -> Iterator[sa.Connection]:
    """The session's connection for a few reads, in a transaction of their own that starts with
    a deferred ``BEGIN`` on SQLite (no writer's lock) and ends with the block, so what the
    session writes next starts with ``BEGIN IMMEDIATE`` as usual. A session already in a
    transaction reads in it, and it stays open."""
    if session.in_transaction():
        yield session.connection()
        return
    connection = session.connection(execution_options={READ_ONLY: True})
    try:
        yield connection
    finally:
        session.commit()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only: deferred BEGIN on SQLite, so it never waits on writers."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session


def alembic_config(engine: Engine):
    """An Alembic config pointing at the packaged migrations, bound to ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(alembic_config(engine), revision)
    except sa.exc.DatabaseError as error:
        raise DatabaseError(f"cannot open or upgrade the database at {engine.url!r}: {error.orig}") from None
    except CommandError as error:
        raise DatabaseError(
            f"cannot upgrade the database at {engine.url!r} ({error}); was it written by a newer Dive Boat?"
        ) from None


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is already at :data:`SCHEMA_HEADS` (one SELECT, no Alembic)."""
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            versions = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except sa.exc.DatabaseError:  # a new database, or one that cannot be read: Alembic will say which
        return False
    return versions == SCHEMA_HEADS


def open_database(url: str) -> Engine:
    """Create the engine for ``url`` and upgrade its schema if it is behind: what the CLI does on start."""
    engine = make_engine(url)
    if not schema_is_current(engine):
        upgrade(engine)
    return engine
