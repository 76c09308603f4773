"""``diveboat people ...`` and ``diveboat available``: the roster from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from roster.availability import available_at, set_status
from roster.models import Status
from roster.people import PersonNotFound, export_csv, find_person, import_csv, person_records, teams_of
from roster.phones import display_phone
from roster.timeutil import LONDON, parse_until, parse_when, utcnow
from tui.cli.context import CliContext, UserError, echo_json, pass_context


@click.group()
def people() -> None:
    """List, import and export the people on the roster."""


@people.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def list_people(obj: CliContext, as_json: bool) -> None:
    """Everyone on the roster, active or not."""
    with obj.new_session() as session:
        records = person_records(session)
    if as_json:
        echo_json(records)
        return
    if not records:
        click.echo("Nobody on the roster yet: try 'diveboat demo --seed-only' or 'diveboat people import FILE.csv'.")
        return
    for r in records:
        state = "" if r["active"] else "  (inactive)"
        teams = ", ".join(r["teams"]) or "-"
        click.echo(f"{r['name']:<26} {r['role']:<21} {display_phone(r['phone']):<15} {teams}{state}")


@people.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_people(obj: CliContext, file: Path) -> None:
    """Add or update people from a CSV file (matched by phone); any bad row rejects the file."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{file} is not UTF-8 text; save it as 'CSV UTF-8' and try again") from None
    with obj.new_session() as session:
        result = import_csv(session, text)
    if not result.ok:
        click.echo(f"diveboat: error: {file} was not imported; nothing was changed. Fix these lines:", err=True)
        for line in result.errors:
            click.echo(f"  {line}", err=True)
        raise SystemExit(1)
    click.echo(f"Imported {file}: {result.created} added, {result.updated} updated.")


@people.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of standard output.")
@pass_context
def export_people(obj: CliContext, output: Path | None) -> None:
    """Write the roster as CSV (the same columns import reads)."""
    with obj.new_session() as session:
        text = export_csv(session)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {text.count(chr(10)) - 1} people to {output}.", err=True)


@click.command()
@click.option("--at", "at_text", metavar="ISO-TIME", help="When to ask about (default now; local time unless an offset is given).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object keyed by role.")
@pass_context
def available(obj: CliContext, at_text: str | None, as_json: bool) -> None:
    """Who can be reached (on duty or in the field), by role."""
    try:
        moment = parse_when(at_text) if at_text else utcnow()
    except ValueError as error:
        raise UserError(str(error)) from None
    with obj.new_session() as session:
        found = available_at(session, moment)
        teams = teams_of(session)
    by_role: dict[str, list[dict]] = {}
    for person in found:
        by_role.setdefault(person.role, []).append(
            {"name": person.name, "phone": person.phone, "teams": teams.get(person.id, [])}
        )
    if as_json:
        echo_json({"at": moment, "available": by_role})
        return
    click.echo(f"Available at {moment.astimezone(LONDON):%a %d %b %Y %H:%M} (Europe/London):")
    if not by_role:
        click.echo("  nobody")
    for role, entries in by_role.items():
        click.echo(f"  {role} ({len(entries)}): " + ", ".join(e["name"] for e in entries))


@click.command("status")
@click.argument("name")
@click.argument("status", type=click.Choice([s.value for s in Status]))
@click.option("--until", "until_text", default="today", show_default=True,
              help="When it ends: 15:00, today, tomorrow, 2027-03-01 or 2027-03-01 15:00.")
@click.option("--note", help="A short note (no client names).")
@pass_context
def change_status(obj: CliContext, name: str, status: str, until_text: str, note: str | None) -> None:
    """Set a person's status from now until a time (as the dashboard's status form does)."""
    now = utcnow()
    try:
        until = parse_until(until_text, now)
    except ValueError as error:
        raise UserError(str(error)) from None
    with obj.new_session() as session:
        try:
            person = find_person(session, name)
        except PersonNotFound as error:
            raise UserError(str(error)) from None
        set_status(session, person.id, status, until, starts_at=now, note=note)
    click.echo(f"{person.name} is {status.replace('_', ' ')} until {until.astimezone(LONDON):%a %d %b %H:%M}.")


def register(cli: click.Group) -> None:
    """Add these commands to the ``diveboat`` group."""
    cli.add_command(people)
    cli.add_command(available)
    cli.add_command(change_status)


