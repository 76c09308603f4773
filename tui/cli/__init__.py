"""The ``diveboat`` command line. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import os
import sys

import click
import sqlalchemy as sa

from roster.db import DatabaseError
from roster.settings import Settings
from tui.cli.context import CliContext, UserError


# Which module registers each command: a module is imported only when one of its
# commands runs (so ``diveboat people list`` never loads Twilio or the HTTP server).
COMMAND_MODULES = {
    "demo": "demo",
    "people": "people",
    "available": "people",
    "status": "people",
    "quorum": "quorum",
    "serve": "serve",
    "poll": "serve",
    "plan": "plan",
    "compliance": "plan",
    "calendar": "plan",
}


class LazyGroup(click.Group):
    """A group whose commands are registered by their module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            importlib.import_module(f"tui.cli.{COMMAND_MODULES[name]}").register(self)
        return self.commands.get(name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="DIVEBOAT_DB", metavar="URL", help="Database URL (default: a SQLite file in your data folder).")
@click.version_option(package_name="diveboat")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Dive Boat: who is on duty, reflective quorums and supervision plans.

    With no command, opens the dashboard.
    """
    settings = Settings(db=db_url) if db_url else Settings()
    ctx.obj = CliContext(settings=settings)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from tui.app import run_dashboard

        run_dashboard(ctx.obj.settings, ctx.obj.engine)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; errors become one line on stderr and a non-zero exit."""
    try:
        exit_code = cli.main(args=argv, prog_name="diveboat", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("diveboat: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        if isinstance(error, UserError):
            error.show()
        else:
            click.echo(f"diveboat: error: {error.format_message()}", err=True)
            if isinstance(error, click.UsageError) and error.ctx is not None:
                click.echo(f"(see '{error.ctx.command_path} --help')", err=True)
        sys.exit(error.exit_code)
    except (DatabaseError, sa.exc.OperationalError) as error:
        click.echo(f"diveboat: error: database: {str(error).splitlines()[0]}", err=True)
        sys.exit(1)
    except Exception as error:  # a bug: still one clear line unless debugging
        if os.environ.get("DIVEBOAT_DEBUG"):
            raise
        first_line = (str(error).splitlines() or [""])[0]
        click.echo(f"diveboat: unexpected error: {type(error).__name__}: {first_line} (set DIVEBOAT_DEBUG=1 for details)", err=True)
        sys.exit(2)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)
