"""``diveboat quorum ...``: ask for a reflective quorum and follow it from the command line."""

from __future__ import annotations

import click

from roster.people import PersonNotFound, find_person
from roster.quorum import (
    QuorumError,
    cancel_request,
    create_request,
    explain_candidates,
    list_requests,
    outbox,
    policy_for,
    queue_conference,
    record_typed_reply,
    request_view,
    save_next_step,
)
from roster.quorum.lifecycle import find_case
from roster.timeutil import LONDON, utcnow
from tui.cli.context import CliContext, UserError, echo_json, pass_context


@click.group()
def quorum() -> None:
    """Ask colleagues to think together, now: request, follow, cancel, conference."""


def deliver(obj: CliContext) -> dict:
    """Send what is queued (or put it in the outbox without Twilio credentials)."""
    try:
        from notify.dispatch import deliver_pending
    except ImportError:  # notify not installed: rows stay queued for the server to send
        return {"sent": 0, "failed": 0, "outbox": 0, "queued": True}
    report = deliver_pending(obj.settings, obj.new_session)
    return {"sent": report.sent, "failed": report.failed, "outbox": report.outbox, "queued": False}


def _delivery_line(delivery: dict) -> str:
    if delivery.get("queued"):
        return "Messages are queued; 'diveboat serve' sends them."
    parts = [f"{delivery['sent']} sent"] if delivery["sent"] else []
    if delivery["failed"]:
        parts.append(f"{delivery['failed']} failed")
    if delivery["outbox"]:
        parts.append(f"{delivery['outbox']} in the outbox (no Twilio credentials: pass them on by hand, "
                     "then type replies with 'diveboat quorum reply --from PHONE TEXT')")
    return "Messages: " + (", ".join(parts) or "nothing to send") + "."


def _person(session, name: str):
    try:
        return find_person(session, name)
    except PersonNotFound as error:
        raise UserError(str(error)) from None


@quorum.command("request")
@click.option("--for", "for_name", required=True, metavar="NAME", help="The worker asking (name or phone).")
@click.option("--need", default=2, show_default=True, type=int, help="How many peers are needed.")
@click.option("--metateam", default=0, show_default=True, type=int, help="How many of them must be MetaTeam.")
@click.option("--case", "case_reference", metavar="REF", help="Case reference (e.g. C-1042); never a client's name.")
@click.option("--skill", "skills", multiple=True, metavar="S", help="A wanted skill (repeatable).")
@click.option("--reason", default="", help="A short reason, kept in the database only (never sent).")
@click.option("--deadline", "deadline_minutes", type=int, metavar="MINUTES", help="Minutes until the request stops (default 20).")
@click.option("--urgent", is_flag=True,
              help="Need people now: text and call a wider first wave (need+4) at once, next wave after 2 minutes.")
@click.option("--json", "as_json", is_flag=True, help="Print the request as JSON.")
@pass_context
def request_command(obj: CliContext, for_name: str, need: int, metateam: int, case_reference: str | None,
                    skills: tuple[str, ...], reason: str, deadline_minutes: int | None, urgent: bool,
                    as_json: bool) -> None:
    """Start a request and send the first wave of invitations before returning."""
    policy = policy_for(obj.settings)
    with obj.new_session() as session:
        requester = _person(session, for_name)
        try:
            request = create_request(session, requester.id, need=need, need_metateam=metateam,
                                     case_reference=case_reference, skills=skills, reason=reason,
                                     deadline_minutes=deadline_minutes, policy=policy, urgent=urgent)
        except QuorumError as error:
            raise UserError(str(error)) from None
    delivery = deliver(obj)
    with obj.new_session() as session:
        view = request_view(session, request.id, policy=policy, with_candidates=False)
    if as_json:
        echo_json(view.to_dict() | {"delivery": delivery})
        return
    click.echo(("Urgent quorum" if view.urgent else "Quorum") + f" request {view.id} for {view.requester}"
               + (f" (case {view.case})" if view.case else "")
               + f": {view.need} needed by {view.deadline_at.astimezone(LONDON):%H:%M}.")
    for invitee in view.invitees:
        click.echo(f"  invited {invitee.name:<22} {invitee.why_picked}")
    click.echo(_delivery_line(delivery))
    click.echo(f"Follow it with 'diveboat quorum status {view.id}'.")


@quorum.command("status")
@click.argument("request_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the request as JSON.")
@pass_context
def status_command(obj: CliContext, request_id: int, as_json: bool) -> None:
    """A request: who was invited and what each said, steps taken, unparsed replies."""
    with obj.new_session() as session:
        view = request_view(session, request_id, policy=policy_for(obj.settings))
    if view is None:
        raise UserError(f"no quorum request {request_id} (see 'diveboat quorum list')")
    if as_json:
        echo_json(view.to_dict())
        return
    header = f"Quorum request {view.id}: {view.state.upper()}" + (", URGENT" if view.urgent else "")
    header += f", for {view.requester}"
    header += f" (case {view.case})" if view.case else ""
    click.echo(header)
    joined = ", ".join(view.joined) or "nobody yet"
    click.echo(f"  need {view.need}" + (f" ({view.need_metateam} MetaTeam)" if view.need_metateam else "")
               + f"; joined: {joined}")
    if view.state == "open":
        minutes, seconds = divmod(view.seconds_left, 60)
        click.echo(f"  {minutes}:{seconds:02d} left (deadline {view.deadline_at.astimezone(LONDON):%H:%M})")
    if view.next_step:
        click.echo(f"  next step: {view.next_step}")
    click.echo("Invited:")
    for i in view.invitees:
        problem = f" ({i.error_text})" if i.error_text else ""
        click.echo(f"  wave {i.wave}  {i.name:<22} {i.state.replace('_', ' '):<11}{problem}")
    if view.events:
        click.echo("Steps:")
        for event in view.events:
            click.echo(f"  {event['at'].astimezone(LONDON):%H:%M:%S}  {event['text']}")
    if view.unparsed:
        click.echo("Replies not understood:")
        for reply in view.unparsed:
            click.echo(f"  {reply['at'].astimezone(LONDON):%H:%M}  {reply['name'] or reply['from_phone']}: {reply['body']!r}")


@quorum.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only requests still open.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def list_command(obj: CliContext, open_only: bool, as_json: bool) -> None:
    """Quorum requests, newest first."""
    with obj.new_session() as session:
        rows = list_requests(session, open_only=open_only)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No open quorum requests." if open_only else "No quorum requests yet.")
        return
    for r in rows:
        case = r["case"] or "-"
        click.echo(f"{r['id']:>4}  {r['created_at'].astimezone(LONDON):%d %b %H:%M}  {r['state']:<9} {r['requester']:<22} "
                   f"{case:<8} joined {r['joined']}/{r['need']} of {r['invited']} invited"
                   + ("  urgent" if r["urgent"] else ""))


@quorum.command("cancel")
@click.argument("request_id", type=int)
@pass_context
def cancel_command(obj: CliContext, request_id: int) -> None:
    """Cancel an open request; people already reached are told."""
    with obj.new_session() as session:
        try:
            cancel_request(session, request_id)
        except QuorumError as error:
            raise UserError(str(error)) from None
    click.echo(f"Quorum request {request_id} cancelled. " + _delivery_line(deliver(obj)))


@quorum.command("conference")
@click.argument("request_id", type=int)
@pass_context
def conference_command(obj: CliContext, request_id: int) -> None:
    """Dial the requester and the joiners into one conference call."""
    with obj.new_session() as session:
        try:
            calls = queue_conference(session, request_id)
        except QuorumError as error:
            raise UserError(str(error)) from None
    click.echo(f"Calling {len(calls)} people into the conference. " + _delivery_line(deliver(obj)))


@quorum.command("reply")
@click.option("--from", "from_phone", required=True, metavar="PHONE", help="The worker's phone (or name).")
@click.argument("text")
@pass_context
def reply_command(obj: CliContext, from_phone: str, text: str) -> None:
    """Record a reply on a worker's behalf (outbox mode, or a reply given by phone)."""
    with obj.new_session() as session:
        person = _person(session, from_phone)
        outcome = record_typed_reply(session, from_phone=person.phone, body=text, policy=policy_for(obj.settings))
    click.echo(f"{person.name}: {outcome.outcome}" + (f" (request {outcome.request_id})" if outcome.request_id else "")
               + ". " + _delivery_line(deliver(obj)))


@quorum.command("next-step")
@click.argument("request_id", type=int)
@click.argument("text")
@pass_context
def next_step_command(obj: CliContext, request_id: int, text: str) -> None:
    """Note the next step agreed by a formed quorum (case reference only, no client names)."""
    with obj.new_session() as session:
        try:
            save_next_step(session, request_id, text)
        except QuorumError as error:
            raise UserError(str(error)) from None
    click.echo(f"Next step noted for quorum request {request_id}.")


@quorum.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def outbox_command(obj: CliContext, as_json: bool) -> None:
    """Messages waiting to be passed on by hand (outbox mode: no Twilio credentials)."""
    with obj.new_session() as session:
        rows = outbox(session)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("The outbox is empty.")
    for row in rows:
        click.echo(f"{row['created_at'].astimezone(LONDON):%H:%M}  {row['kind']:<10} to {row['to'] or row['to_phone']}: {row['body']}")


@quorum.command("explain")
@click.option("--for", "for_name", required=True, metavar="NAME", help="The worker who would ask.")
@click.option("--case", "case_reference", metavar="REF", help="Case reference.")
@click.option("--skill", "skills", multiple=True, metavar="S", help="A wanted skill (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def explain_command(obj: CliContext, for_name: str, case_reference: str | None, skills: tuple[str, ...], as_json: bool) -> None:
    """Who would be asked first, and why others would be left out, right now."""
    with obj.new_session() as session:
        requester = _person(session, for_name)
        try:
            case = find_case(session, case_reference)
        except QuorumError as error:
            raise UserError(str(error)) from None
        rows = explain_candidates(session, requester_id=requester.id, case_id=case.id if case else None,
                                  skills=skills, now=utcnow(), policy=policy_for(obj.settings))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        rank = f"{row['rank']:>3}." if row["rank"] else "   -"
        click.echo(f"{rank} {row['name']:<22} {row['why']}")


def register(cli: click.Group) -> None:
    """Add ``diveboat quorum`` to the ``diveboat`` group."""
    cli.add_command(quorum)
