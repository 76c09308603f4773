"""What the quorum screens ask of the services, for use inside Textual worker threads."""

from __future__ import annotations

from roster.people import PersonNotFound, find_person


def deliver(app) -> None:
    """Send what is queued now (or move it to the outbox without Twilio credentials)."""
    from notify.dispatch import deliver_pending

    deliver_pending(app.settings, app.new_session, now=app.clock())


def typed_reply(app, who: str, text: str) -> str:
    """Record a reply typed on a worker's behalf; returns what it did, in words."""
    from roster.quorum import policy_for, record_typed_reply

    with app.new_session() as session:
        try:
            person = find_person(session, who)
        except PersonNotFound as error:
            return f"Not recorded: {error}"
        outcome = record_typed_reply(session, from_phone=person.phone, body=text, received_at=app.clock(),
                                     policy=policy_for(app.settings))
    deliver(app)
    return f"{person.name}: {outcome.outcome}"
