"""``diveboat calendar ...``: export the plan as .ics and hand out feed URLs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from roster.supervision.calendars import FeedWindow, person_calendar, team_calendar
from roster.supervision.tokens import FeedSubject, TokenExists, issue_token, revoke_tokens
from roster.timeutil import LONDON, utcnow
from tui.cli.context import CliContext, UserError, pass_context
from tui.cli.plan import person_named, team_named, write_atomically


@click.group()
def calendar() -> None:
    """Supervision calendars: .ics files and subscription feeds."""


@calendar.command("export")
@click.option("--person", "person_name", metavar="NAME", help="One person's supervision.")
@click.option("--team", "team_name", metavar="TEAM", help="A whole team's supervision.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The .ics file to write.")
@click.option("--year", type=click.IntRange(2000, 2100), help="A calendar year (default: 3 months back to 12 ahead).")
@pass_context
def export(obj: CliContext, person_name: str | None, team_name: str | None, output: Path, year: int | None) -> None:
    """Write the plan as one .ics file to import or email."""
    if bool(person_name) == bool(team_name):
        raise UserError("give either --person NAME or --team TEAM")
    today = utcnow().astimezone(LONDON).date()
    window = FeedWindow.year(year) if year else FeedWindow.around(today)
    with obj.new_session() as session:
        if person_name:
            subject = person_named(session, person_name)
            data = person_calendar(session, subject, today, window)
        else:
            subject = team_named(session, team_name)
            data = team_calendar(session, subject, today, window)
    write_atomically(output, data)
    events = data.count(b"BEGIN:VEVENT")
    click.echo(f"Wrote {events} sessions for {subject.name} ({_span(window)}) to {output}.", err=True)


def _span(window: FeedWindow) -> str:
    if window.start == date(window.start.year, 1, 1) and window.end == date(window.start.year + 1, 1, 1):
        return str(window.start.year)
    return f"{window.start:%d %b %Y} to {window.end:%d %b %Y}"


@calendar.command("feed-url")
@click.argument("name", required=False)
@click.option("--team", "team_name", metavar="TEAM", help="A team's feed (for managers) instead of a person's.")
@click.option("--rotate", is_flag=True, help="Revoke the current URL and print a new one.")
@click.option("--revoke", is_flag=True, help="Revoke the current URL without a new one.")
@pass_context
def feed_url(obj: CliContext, name: str | None, team_name: str | None, rotate: bool, revoke: bool) -> None:
    """Print a subscription URL for a person's (or team's) supervision calendar.

    The URL holds a secret; Dive Boat keeps only its hash, so it is shown once.
    """
    if bool(name) == bool(team_name):
        raise UserError("give a person's NAME or --team TEAM")
    base = obj.settings.public_url
    if not base and not revoke:
        raise UserError("set DIVEBOAT_PUBLIC_URL to the address where 'diveboat serve' is reached "
                        "(e.g. https://diveboat.example.org)")
    with obj.new_session() as session:
        if name:
            owner = person_named(session, name)
            subject = FeedSubject(person_id=owner.id, team_id=None)
        else:
            owner = team_named(session, team_name)
            subject = FeedSubject(person_id=None, team_id=owner.id)
        if revoke:
            count = revoke_tokens(session, subject)
            click.echo(f"Revoked {count} feed URL{'s' if count != 1 else ''} for {owner.name}.", err=True)
            return
        try:
            token = issue_token(session, subject, rotate=rotate)
        except TokenExists as exists:
            raise UserError(
                f"{owner.name} already has a feed URL (issued {exists.created_at.astimezone(LONDON):%d %b %Y}); only "
                "its hash is kept, so it cannot be shown again: use --rotate to replace it"
            ) from None
    click.echo(f"{base.rstrip('/')}/calendar/{token}.ics")
    if rotate:
        click.echo(f"The previous feed URL for {owner.name} no longer works.", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(calendar)
