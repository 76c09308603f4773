"""The HTTP server behind ``diveboat serve``: Twilio webhooks and calendar feeds.

:func:`create_server` builds the ASGI app from injected settings and engine, so tests
and the CLI build it the same way. Each feature adds its routes as an ``APIRouter``.
With ``feeds_only`` the app serves the calendar feeds (and ``/healthz``) alone: no
Twilio routes, no database writers.

``diveboat serve --workers N`` (PostgreSQL) runs N server processes on one port:
uvicorn starts each and calls :func:`create_worker_server` (or
:func:`create_feeds_worker_server`) in it, which builds the same app from the
environment (``DIVEBOAT_*``, ``TWILIO_*``; the command puts ``--db`` there) with the
worker's own connections and sending process.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from notify.db_worker import DatabaseWorker, SqliteWriters
from notify.feeds import calendar_router
from notify.heap import settle_heap
from notify.sending import SendingProcess, prepare_twilio_client
from notify.webhooks import PREFIX as WEBHOOKS_PREFIX
from notify.webhooks import webhooks_app
from roster.db import open_database, session_factory
from roster.quorum.handling import warm_up
from roster.quorum.policy import policy_for
from roster.settings import Settings

log = logging.getLogger(__name__)


def create_server(settings: Settings, engine: sa.Engine, *, feeds_only: bool = False,
                  sending: SendingProcess | None = None, on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The FastAPI app for ``diveboat serve`` (``feeds_only``: the calendar feeds alone).

    Texts and calls that replies queue are sent through ``sending`` when given (the
    caller starts and closes it), else from the server's own event loop. ``on_shutdown``
    runs once the server has stopped answering (a worker closes what it opened)."""
    if feeds_only:
        app = FastAPI(title="Dive Boat feeds", docs_url=None, redoc_url=None, openapi_url=None)
        app.state.settings = settings
        app.state.engine = engine
        app.include_router(calendar_router())
        _add_health_check(app, engine)
        return app
    SqliteWriters.install(engine)
    new_session = session_factory(engine)
    database = DatabaseWorker(engine, new_session)

    def close() -> None:
        database.close()
        if on_shutdown is not None:
            on_shutdown()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await database.warm_up(warm_up)  # ready before uvicorn accepts the first request
            prepare_twilio_client()  # texts (without ``sending``) and the clock's catch-up and polling use them here
            settle_heap()
        except BaseException:  # not started: close what was opened (a worker's sending process too)
            close()
            raise
        yield
        gc.unfreeze()  # a process that goes on (tests, a restart in place) collects them again
        close()

    app = DiveBoatServer(title="Dive Boat", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.new_session = new_session
    app.state.policy = policy_for(settings)
    app.state.database = database
    app.state.sending = sending
    app.include_router(calendar_router())
    _add_health_check(app, engine)
    return app


def create_worker_server() -> FastAPI:
    """One worker of ``diveboat serve --workers N``: the webhook server, built from the
    environment, with its own database connections and its own sending process (the
    escalation clock runs once, in the command's own process)."""
    settings = Settings()
    engine = open_database(settings.db)
    sending = SendingProcess(settings).start()

    def close() -> None:
        sending.close()
        engine.dispose()

    app = create_server(settings, engine, sending=sending, on_shutdown=close)
    app.router.lifespan_context = _exit_if_start_fails(app.router.lifespan_context)
    return app


def _exit_if_start_fails(lifespan):
    """A worker whose start fails (the database refuses its connections, say) ends with
    uvicorn's ``STARTUP_FAILURE`` code, the one exit its supervisor stops for; otherwise the
    supervisor would start it again and again, with nobody answering on the port."""

    @asynccontextmanager
    async def guarded(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as started:
            try:
                await started.enter_async_context(lifespan(app))
            except Exception:
                log.exception("this worker could not start")
                logging.shutdown()  # the error reaches the log before the process ends
                os._exit(STARTUP_FAILURE)
            yield

    return guarded


def create_feeds_worker_server() -> FastAPI:
    """One worker of ``diveboat serve --feeds-only --workers N``: the calendar feeds, built from the environment."""
    settings = Settings()
    return create_server(settings, open_database(settings.db), feeds_only=True)


class DiveBoatServer(FastAPI):
    """The server's app: FastAPI for the calendar feeds and the health check, while Twilio's
    webhooks (``/twilio/...``) go straight to their own routes (:data:`notify.webhooks.webhooks_app`)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WEBHOOKS_PREFIX + "/"):
            scope["app"] = self  # as Starlette sets it: the webhooks read ``request.app.state``
            await webhooks_app(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _add_health_check(app: FastAPI, engine: sa.Engine) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return {"status": "ok"}
