"""``diveboat serve`` (Twilio webhooks + the escalation clock, or the calendar feeds alone)
and ``diveboat poll``."""

from __future__ import annotations

import copy
import os
import time

import click
import requests
from twilio.base.exceptions import TwilioException

from notify.clock import DEFAULT_INTERVAL_SECONDS, EscalationLoop, TickReport
from notify.twilio_client import api_error_text, twilio_configured
from roster.db import normalise_url
from roster.timeutil import parse_when
from tui.cli.context import CliContext, UserError, echo_json, pass_context

NO_TOKEN = (
    "TWILIO_AUTH_TOKEN is not set: the server checks every Twilio request's signature with it. "
    "Set TWILIO_AUTH_TOKEN (and TWILIO_ACCOUNT_SID, TWILIO_FROM_NUMBER) and try again, "
    "or use --feeds-only to serve the calendar feeds alone"
)
WORKERS_NEED_POSTGRES = (
    "--workers {workers} needs PostgreSQL: SQLite lets one process write at a time, and one server "
    "(the default, --workers 1) already records replies that arrive together in one transaction. "
    "Drop --workers, or point --db (DIVEBOAT_DB) at a PostgreSQL database"
)
MAX_WORKERS = 64
SERVER_FAILED = "the server could not start (its error is above); fix that and start again"
WORKER_FAILED = "a worker could not start (its error is above), so none is serving; fix that and start again"
NOT_CONFIGURED = (
    "Twilio is not configured: polling lists replies through Twilio's Messages API. "
    "Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER and try again"
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--feeds-only", is_flag=True,
    help="Serve only the supervision calendar feeds (GET /calendar/<token>.ics): no Twilio webhooks, "
         "no escalation clock, no reply polling, and no Twilio credentials needed.",
)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, MAX_WORKERS),
    help="Server processes answering on the port (PostgreSQL only), each with its own database "
         "connections and sending process; the escalation clock still runs once.",
)
@pass_context
def serve(obj: CliContext, host: str, port: int, feeds_only: bool, workers: int) -> None:
    """Run the webhook server for Twilio and the escalation clock.

    Point your Twilio number's SMS webhook at DIVEBOAT_PUBLIC_URL/twilio/sms.

    It also serves the calendar feeds whose URLs 'diveboat calendar feed-url'
    prints. With --feeds-only it serves those alone, for teams that use no texts
    or calls. On PostgreSQL, --workers N answers with N processes.
    """
    from notify.sending import SendingProcess
    from notify.server import create_server

    settings = obj.settings
    if workers > 1 and not normalise_url(settings.db).startswith("postgresql"):  # refused before anything is opened
        raise UserError(WORKERS_NEED_POSTGRES.format(workers=workers))
    if feeds_only:
        click.echo(
            f"Serving calendar feeds only (http://{host}:{port}/calendar/<token>.ics): "
            "no Twilio webhooks, no escalation clock, no reply polling.",
            err=True,
        )
        if workers > 1:
            _run_workers("notify.server:create_feeds_worker_server", settings.db, host, port, workers)
        else:
            _run(create_server(settings, obj.engine, feeds_only=True), host, port)
        click.echo("Stopped.", err=True)
        return
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token.strip():
        raise UserError(NO_TOKEN)
    if not settings.public_url:
        click.echo(
            "diveboat: warning: DIVEBOAT_PUBLIC_URL is not set; signatures are checked against the URL each "
            "request names, and calls cannot gather keypresses.",
            err=True,
        )
    with SendingProcess(settings) as sending:  # Twilio requests from a process of their own
        # Built before the clock starts: it hooks the SQLite writers' turn-taking into the engine the clock uses.
        app = create_server(settings, obj.engine, sending=sending) if workers == 1 else None
        loop = EscalationLoop(settings, obj.new_session, catch_up=True, sending=sending).start()  # replies sent while down, first
        try:
            if app is None:
                _run_workers("notify.server:create_worker_server", settings.db, host, port, workers)
            else:
                _run(app, host, port)
        finally:
            loop.stop()
    click.echo("Stopped.", err=True)


def _run(app, host: str, port: int) -> None:
    """Serve ``app`` until Ctrl-C (or SIGTERM); a server that cannot start (its port taken, its
    database refusing) fails the command with one line after uvicorn's own error."""
    import uvicorn

    try:
        uvicorn.run(app, host=host, port=port, log_level="info", log_config=_log_config())
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after shutting down cleanly
        pass
    except SystemExit as exit_:  # uvicorn ends the process this way when the server did not start
        if exit_.code:
            raise UserError(SERVER_FAILED) from None
        raise


def _run_workers(factory: str, db_url: str, host: str, port: int, workers: int) -> None:
    """Serve with ``workers`` processes on one port until Ctrl-C (or SIGTERM), as ``uvicorn.run``
    would: uvicorn's supervisor starts each (and a new one should one die) and calls ``factory``
    in it, which reads its settings from the environment (``--db`` goes there too). A worker
    that cannot start stops them all, and the command fails saying so."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    os.environ["DIVEBOAT_DB"] = db_url
    config = uvicorn.Config(factory, factory=True, workers=workers, host=host, port=port, log_level="info",
                            log_config=_log_config())
    try:
        sockets = [config.bind_socket()]
    except SystemExit:  # uvicorn's way of saying the port is taken (its error logged first)
        raise UserError(SERVER_FAILED) from None
    supervisor = Multiprocess(config, sockets=sockets)
    supervisor.run()
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        raise UserError(WORKER_FAILED)


def _log_config() -> dict:
    """uvicorn's logging, with its access lines in plain text (``INFO:     127.0.0.1:50312 -
    "POST /twilio/sms HTTP/1.1" 200``): uvicorn's own access formatter copies each record to
    colour it, which more than doubles the cost of a line at hundreds of replies a second."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"] = {"format": "%(levelname)s:     %(message)s"}
    return config


def _summary(report: TickReport) -> dict:
    delivered = report.delivered
    return {
        "replies": report.polled.recorded if report.polled else 0,
        "steps": report.steps,
        "sent": delivered.sent,
        "failed": delivered.failed,
        "retry_later": delivered.retry_later,
    }


def _tick(loop: EscalationLoop) -> TickReport:
    try:
        return loop.tick()
    except TwilioException as error:
        raise UserError(f"Twilio refused the request: {api_error_text(error)}") from None
    except requests.RequestException as error:
        raise UserError(f"cannot reach Twilio: {type(error).__name__}") from None


@click.command()
@click.option("--watch", is_flag=True, help="Keep polling every few seconds (Ctrl-C stops).")
@click.option("--since", "since_text", metavar="ISO-TIME", help="Read replies sent after this time (default: the last hour).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object per pass.")
@pass_context
def poll(obj: CliContext, watch: bool, since_text: str | None, as_json: bool) -> None:
    """Read new SMS replies through Twilio's Messages API (when Twilio cannot reach a server).

    Each pass also advances open quorum requests and sends what they queued.
    """
    settings = obj.settings
    if not twilio_configured(settings):
        raise UserError(NOT_CONFIGURED)
    try:
        since = parse_when(since_text) if since_text else None
    except ValueError as error:
        raise UserError(str(error)) from None
    loop = EscalationLoop(settings, obj.new_session, poll=True)
    if since is not None:
        loop.poller.since = since
    try:
        while True:
            try:
                summary = _summary(_tick(loop))
            except UserError as error:
                if not watch:
                    raise
                error.show()  # keep watching: Twilio may be back on the next pass
                summary = None
            if summary is not None and (as_json or not watch or summary["replies"] or summary["steps"] or summary["sent"]):
                _show(summary, as_json)
            if not watch:
                return
            time.sleep(DEFAULT_INTERVAL_SECONDS)
    except KeyboardInterrupt:
        click.echo("Stopped polling.", err=True)


def _show(summary: dict, as_json: bool) -> None:
    if as_json:
        echo_json(summary)
        return
    line = f"{summary['replies']} new repl{'y' if summary['replies'] == 1 else 'ies'}, {summary['sent']} sent"
    if summary["failed"]:
        line += f", {summary['failed']} failed"
    if summary["retry_later"]:
        line += f", {summary['retry_later']} to retry"
    click.echo(line + ".")
    for step in summary["steps"]:
        click.echo(f"  {step}")


def register(cli: click.Group) -> None:
    """Add these commands to the ``diveboat`` group."""
    cli.add_command(serve)
    cli.add_command(poll)
