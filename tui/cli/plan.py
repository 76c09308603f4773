"""``diveboat plan ...`` and ``diveboat compliance``: the supervision year from the command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import click

from roster.people import PersonNotFound, find_person
from roster.supervision.agreements import SupervisionError, default_agreements
from roster.supervision.calendars import cancellation_calendar
from roster.supervision.changes import cancel, mark_held, postpone, propose_rebooking, rebook, record_written
from roster.supervision.compliance import KIND_LABELS, compliance_report
from roster.supervision.planner import YearPlanner
from roster.supervision.reviews import case_review_plan
from roster.supervision.state import plan_state, set_region
from roster.supervision.views import SessionView, find_team, person_plan
from roster.supervision.workdays import parse_region
from roster.timeutil import LONDON, parse_when, utcnow
from tui.cli.context import CliContext, UserError, echo_json, pass_context, progress

@click.group()
def plan() -> None:
    """Plan supervision a year ahead, see it, and postpone, cancel or rebook sessions."""


def person_named(session, name: str):
    try:
        return find_person(session, name)
    except PersonNotFound as error:
        raise UserError(str(error)) from None


def team_named(session, name: str):
    try:
        return find_team(session, name)
    except SupervisionError as error:
        raise UserError(str(error)) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name such as plan.ics")
    if not path.parent.exists():
        raise UserError(f"folder {path.parent} does not exist")
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {error.strerror}") from None


def session_line(view: SessionView) -> str:
    status = "" if view.status == "booked" else f"  [{view.status}]"
    venue = f"  {view.venue}" if view.venue else ""
    return f"  #{view.id:<5} {view.local_start:%a %d %b %Y %H:%M}–{view.ends_at.astimezone(LONDON):%H:%M}  {view.title}{venue}{status}"


@plan.command("generate")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Calendar year to plan, e.g. 2027.")
@click.option("--team", "team_name", metavar="TEAM", help="Only this team's people and groups.")
@click.option("--region", metavar="REGION", help="Bank holidays of england-and-wales (default), scotland or northern-ireland; remembered.")
@pass_context
def generate(obj: CliContext, year: int, team_name: str | None, region: str | None) -> None:
    """Book a year of sessions by rule. Running it again books only what is missing.

    People with a line manager and no agreement get a default one-to-one agreement
    with their line manager first (frequency by practice stage).
    """
    now = utcnow()
    with obj.new_session() as session:
        if region:
            try:
                set_region(session, parse_region(region), now)
            except ValueError as error:
                raise UserError(str(error)) from None
        team = team_named(session, team_name) if team_name else None
        created = default_agreements(session, starts_on=now.astimezone(LONDON).date(), now=now,
                                     team_id=team.id if team else None)
        planner = YearPlanner(session, year, now=now, team_id=team.id if team else None)
        if not planner.series:
            session.rollback()
            raise UserError("no supervision agreements or groups to plan (give people a line manager, "
                            "or add one with 'diveboat plan agree')")
        with progress(planner.series, f"Planning {year}") as bar:
            for series in bar:
                planner.plan(series)
        result = planner.finish()
        region_name = plan_state(session).holiday_region
        session.commit()
    if created:
        click.echo(f"Created {len(created)} default agreements from line managers.")
    scope = f" for {team.name}" if team else ""
    click.echo(f"Planned {year}{scope} ({region_name} bank holidays): {result.series} agreements and groups; "
               f"{result.booked} sessions booked, {result.kept} already in the plan.")
    if result.late:
        click.echo(f"{len(result.late)} sessions could not keep their minimum frequency (leave or clashes):")
        for line in result.late:
            click.echo(f"  {line}")


@plan.command("show")
@click.argument("name")
@click.option("--year", type=click.IntRange(2000, 2100), help="A calendar year (default: the next 12 months).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_context
def show(obj: CliContext, name: str, year: int | None, as_json: bool) -> None:
    """A person's agreements, groups, sessions and case reviews."""
    now = utcnow()
    today = now.astimezone(LONDON).date()
    start, end = (date(year, 1, 1), date(year, 12, 31)) if year else (today, today + timedelta(days=365))
    with obj.new_session() as session:
        person = person_named(session, name)
        view = person_plan(session, person, start, end, today)
    if as_json:
        echo_json({"from": start, "to": end, **view.as_dict()})
        return
    click.echo(f"{view.name}: supervision {start:%d %b %Y} to {end:%d %b %Y}")
    click.echo("Agreements and groups:" if view.series else "No supervision agreements or groups yet.")
    for item in view.series:
        click.echo(f"  {item.title}: {item.frequency}; {item.slot}" + (f"; {item.venue}" if item.venue else ""))
    click.echo(f"Sessions ({len(view.sessions)}):" if view.sessions else "No sessions planned (try 'diveboat plan generate').")
    for item in view.sessions:
        click.echo(session_line(item))
    if view.case_reviews:
        click.echo("Case reviews (every 12 weeks):")
        for review in view.case_reviews:
            planned = f"planned {review.planned_on:%a %d %b %Y}" if review.planned_on else "no session planned"
            click.echo(f"  {review.reference}: due {review.due_on:%d %b %Y}, {planned}")


@plan.command("reviews")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def reviews(obj: CliContext, as_json: bool) -> None:
    """When each case's next review is due (reference codes only)."""
    today = utcnow().astimezone(LONDON).date()
    with obj.new_session() as session:
        plans = case_review_plan(session, today)
    records = [
        {"reference": p.reference, "last_reviewed": p.last_reviewed, "due_on": p.due_on, "planned_on": p.planned_on,
         "overdue": p.overdue(today)}
        for p in plans
    ]
    if as_json:
        echo_json(records)
        return
    for r in records:
        last = f"last {r['last_reviewed']:%d %b %Y}" if r["last_reviewed"] else "never reviewed"
        planned = f"planned {r['planned_on']:%d %b %Y}" if r["planned_on"] else "no session planned"
        click.echo(f"{r['reference']:<10} due {r['due_on']:%d %b %Y}  {planned:<22} ({last})" + ("  OVERDUE" if r["overdue"] else ""))


def _proposal_lines(proposal) -> list[str]:
    if proposal.slot is None:
        return [f"No free slot for both people soon; reconvene by {proposal.reconvene_by:%a %d %b %Y}."]
    slot = proposal.slot.starts_at.astimezone(LONDON)
    flag = "  BREACH: later than 5 working days" if proposal.breach else ""
    return [f"Proposed slot: {slot:%a %d %b %Y %H:%M} (reconvene by {proposal.reconvene_by:%a %d %b %Y}){flag}",
            f"Book it with: diveboat plan rebook {proposal.session_id}"]


@plan.command("postpone")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Why (kept in Dive Boat, never put in calendars).")
@pass_context
def postpone_command(obj: CliContext, session_id: int, reason: str) -> None:
    """Postpone a session and see the first slot free for both people."""
    with obj.new_session() as session:
        try:
            proposal = postpone(session, session_id, reason, now=utcnow())
        except SupervisionError as error:
            raise UserError(str(error)) from None
    click.echo(f"Session {session_id} postponed.")
    for line in _proposal_lines(proposal):
        click.echo(line)


@plan.command("propose")
@click.argument("session_id", type=int)
@pass_context
def propose(obj: CliContext, session_id: int) -> None:
    """Show the slot Dive Boat would propose to reconvene a session."""
    with obj.new_session() as session:
        try:
            proposal = propose_rebooking(session, session_id, now=utcnow())
        except SupervisionError as error:
            raise UserError(str(error)) from None
    for line in _proposal_lines(proposal):
        click.echo(line)


@plan.command("rebook")
@click.argument("session_id", type=int)
@click.option("--at", "at_text", metavar="ISO-TIME", help="When (local time, e.g. 2027-03-02T14:00); default: the proposed slot.")
@pass_context
def rebook_command(obj: CliContext, session_id: int, at_text: str | None) -> None:
    """Reconvene a postponed session."""
    try:
        starts_at = parse_when(at_text) if at_text else None
    except ValueError as error:
        raise UserError(str(error)) from None
    with obj.new_session() as session:
        try:
            result = rebook(session, session_id, now=utcnow(), starts_at=starts_at)
        except SupervisionError as error:
            raise UserError(str(error)) from None
    when = result.session.starts_at.astimezone(LONDON)
    click.echo(f"Rebooked as session {result.session.id} on {when:%a %d %b %Y %H:%M}.")
    if result.breach:
        click.echo(f"BREACH: later than 5 working days after the original date (by {result.reconvene_by:%a %d %b %Y}).")


@plan.command("cancel")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Why (kept in Dive Boat, never put in calendars).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Also write a METHOD:CANCEL .ics file to send.")
@pass_context
def cancel_command(obj: CliContext, session_id: int, reason: str, output: Path | None) -> None:
    """Cancel a session (it stays in feeds as cancelled, so calendars drop it)."""
    with obj.new_session() as session:
        try:
            row = cancel(session, session_id, reason, now=utcnow())
        except SupervisionError as error:
            raise UserError(str(error)) from None
        data = cancellation_calendar(session, [row], utcnow().astimezone(LONDON).date()) if output else None
    click.echo(f"Session {session_id} cancelled.")
    if output:
        write_atomically(output, data)
        click.echo(f"Wrote the cancellation to {output}.", err=True)


@plan.command("held")
@click.argument("session_id", type=int)
@click.option("--recorded", is_flag=True, help="The record has been written too.")
@click.option("--reviewed", metavar="REFS", help="Cases reviewed, e.g. C-1042,C-1043 (default: those planned).")
@pass_context
def held(obj: CliContext, session_id: int, recorded: bool, reviewed: str | None) -> None:
    """Mark a session held (records its case reviews, or takes a group's cases)."""
    references = [r for r in (reviewed or "").replace(" ", "").split(",") if r] if reviewed is not None else None
    with obj.new_session() as session:
        try:
            mark_held(session, session_id, now=utcnow(), reviewed=references, recorded=recorded)
        except SupervisionError as error:
            raise UserError(str(error)) from None
    click.echo(f"Session {session_id} held" + (" and recorded." if recorded else "; record it within 5 working days."))


@plan.command("recorded")
@click.argument("session_id", type=int)
@pass_context
def recorded(obj: CliContext, session_id: int) -> None:
    """Note that a session's record has been written."""
    with obj.new_session() as session:
        try:
            record_written(session, session_id, now=utcnow())
        except SupervisionError as error:
            raise UserError(str(error)) from None
    click.echo(f"Session {session_id} recorded.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option("--team", "team_name", metavar="TEAM", help="Only this team's people.")
@click.option("--on", "on_text", metavar="DATE", help="Check as on this day (default today), e.g. 2027-03-15.")
@pass_context
def compliance(obj: CliContext, as_json: bool, team_name: str | None, on_text: str | None) -> None:
    """Who is overdue or in breach, most urgent first, with totals per person and team."""
    try:
        today = date.fromisoformat(on_text) if on_text else utcnow().astimezone(LONDON).date()
    except ValueError:
        raise UserError(f"'{on_text}' is not a date (e.g. 2027-03-15)") from None
    with obj.new_session() as session:
        team = team_named(session, team_name) if team_name else None
        report = compliance_report(session, today, team=team.name if team else None)
    if as_json:
        echo_json(report.as_dict())
        return
    breaches = [i for i in report.items if i.breach]
    click.echo(f"Compliance on {today:%a %d %b %Y}: {len(breaches) or 'no'} breach{'es' if len(breaches) != 1 else ''}.")
    for item in report.items:
        late = f"{item.days_late} days late" if item.days_late > 0 else ("due today" if item.days_late == 0 else "coming due")
        click.echo(f"  {KIND_LABELS[item.kind].upper():<15} {item.person:<20} {item.subject:<36} {late:<13} {item.detail}")
    for title, totals in (("By person", report.by_person()), ("By team", report.by_team())):
        if totals:
            click.echo(f"{title}:")
            for name, counts in totals.items():
                click.echo(f"  {name}: " + ", ".join(f"{KIND_LABELS[k]} {n}" for k, n in counts.items()))


def register(cli: click.Group) -> None:
    """Add ``plan``, ``compliance`` and ``calendar`` to the ``diveboat`` group."""
    from tui.cli import calendars, plan_setup

    plan_setup.register(plan)
    cli.add_command(plan)
    cli.add_command(compliance)
    calendars.register(cli)
