"""``diveboat demo``: seed a realistic demo service, then open the dashboard."""

from __future__ import annotations

import click

from roster.demo import seed_demo
from roster.supervision.demo import seed_demo_agreements
from tui.cli.context import CliContext, pass_context


@click.command()
@click.option("--seed-only", is_flag=True, help="Seed the demo service and exit without opening the dashboard.")
@pass_context
def demo(obj: CliContext, seed_only: bool) -> None:
    """Seed a demo service if the database is empty, then open the dashboard."""
    with obj.new_session() as session:
        seeded = seed_demo(session)
        if seeded:
            click.echo("Seeding the demo service and its supervision plan…", err=True)
            seed_demo_agreements(session)
    message = "Seeded the demo service." if seeded else "The database already has people; nothing was seeded."
    click.echo(f"{message} (database: {obj.settings.db})", err=True)
    if not seed_only:
        from tui.app import run_dashboard

        run_dashboard(obj.settings, obj.engine)


def register(cli: click.Group) -> None:
    """Add ``demo`` to the ``diveboat`` group."""
    cli.add_command(demo)
