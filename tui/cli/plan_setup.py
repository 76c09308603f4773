"""``diveboat plan agree|group|queue``: record agreements, group series and case queues."""

from __future__ import annotations

from datetime import date, time

import click
from sqlmodel import select

from roster.models import Person, TeamMembership
from roster.supervision.agreements import SupervisionError, create_agreement, create_group
from roster.supervision.groups import queue_case
from roster.supervision.models import AgreementKind, GroupKind, SupervisionGroup
from roster.timeutil import LONDON, utcnow
from tui.cli.context import CliContext, UserError, pass_context
from tui.cli.plan import person_named, team_named

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _weekday(text: str | None) -> int | None:
    if text is None:
        return None
    wanted = text.strip().lower()
    for index, name in enumerate(WEEKDAY_NAMES):
        if len(wanted) >= 3 and name.startswith(wanted):
            return index
    raise UserError(f"'{text}' is not a weekday (Monday to Friday, e.g. --weekday tue)")


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise UserError(f"'{text}' is not a time (e.g. 10:00)") from None


def _date(text: str | None) -> date:
    if text is None:
        return utcnow().astimezone(LONDON).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"'{text}' is not a date (e.g. 2027-01-04)") from None


def slot_options(function):
    """Options shared by agreements and groups: when, how long, where, how often."""
    for option in reversed([
        click.option("--every", "frequency", metavar="RULE", help="Minimum frequency: 2w, 4w, 20wd or 1m."),
        click.option("--weekday", metavar="DAY", help="Preferred weekday (Monday to Friday)."),
        click.option("--time", "start_text", default="10:00", show_default=True, help="Preferred start (London time)."),
        click.option("--duration", type=click.IntRange(15, 480), help="Minutes."),
        click.option("--venue", default="", help="Where sessions take place."),
        click.option("--start", "start_text_day", metavar="DATE", help="First day (default today)."),
    ]):
        function = option(function)
    return function


@click.command("agree")
@click.argument("supervisee")
@click.option("--supervisor", required=True, metavar="NAME", help="Who supervises.")
@click.option("--kind", type=click.Choice([k.value for k in AgreementKind]), default="one_to_one", show_default=True)
@slot_options
@pass_context
def agree(obj: CliContext, supervisee: str, supervisor: str, kind: str, frequency, weekday, start_text, duration, venue,
          start_text_day) -> None:
    """Record a supervision agreement (frequency defaults to the supervisee's practice stage)."""
    with obj.new_session() as session:
        try:
            agreement = create_agreement(
                session, person_named(session, supervisor), person_named(session, supervisee), kind=kind,
                frequency=frequency, weekday=_weekday(weekday), start_time=_time(start_text),
                duration_minutes=duration or 90, venue=venue, starts_on=_date(start_text_day),
            )
        except SupervisionError as error:
            raise UserError(str(error)) from None
        session.commit()
    click.echo(f"Agreement {agreement.id} recorded; run 'diveboat plan generate --year YEAR' to book its sessions.")


@click.command("group")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in GroupKind]), required=True)
@click.option("--chair", required=True, metavar="NAME")
@click.option("--member", "members", multiple=True, metavar="NAME", help="A member (repeat for each).")
@click.option("--team", "team_name", metavar="TEAM", help="The team the group belongs to (its members by default).")
@slot_options
@pass_context
def group(obj: CliContext, name, kind, chair, members, team_name, frequency, weekday, start_text, duration, venue,
          start_text_day) -> None:
    """Record a group series: reflective group supervision, team meeting or Think Family."""
    with obj.new_session() as session:
        team = team_named(session, team_name) if team_name else None
        people = [person_named(session, m) for m in members]
        if team is not None and not people:
            ids = session.exec(select(TeamMembership.person_id).where(TeamMembership.team_id == team.id))
            people = [session.get(Person, i) for i in ids]
        if not people:
            raise UserError("name the members with --member NAME (or give --team TEAM)")
        try:
            created = create_group(
                session, name, kind, person_named(session, chair), people, team_id=team.id if team else None,
                frequency=frequency, weekday=_weekday(weekday), start_time=_time(start_text),
                duration_minutes=duration or 120, venue=venue, starts_on=_date(start_text_day),
            )
        except SupervisionError as error:
            raise UserError(str(error)) from None
        session.commit()
    click.echo(f"Group '{created.name}' recorded ({created.frequency}); 'diveboat plan generate' books its sessions.")


@click.command("queue")
@click.argument("group_name")
@click.argument("references", nargs=-1, required=True)
@pass_context
def queue(obj: CliContext, group_name: str, references: tuple[str, ...]) -> None:
    """Queue case references to bring to a group's next sessions."""
    with obj.new_session() as session:
        found = session.exec(select(SupervisionGroup).where(SupervisionGroup.name == group_name)).first()
        if found is None:
            raise UserError(f"no group called '{group_name}'")
        try:
            for reference in references:
                queue_case(session, found, reference)
        except SupervisionError as error:
            session.rollback()
            raise UserError(str(error)) from None
        session.commit()
    click.echo(f"Queued {', '.join(r.upper() for r in references)} for {group_name}.")


def register(plan: click.Group) -> None:
    """Add the set-up commands to ``diveboat plan``."""
    for command in (agree, group, queue):
        plan.add_command(command)
