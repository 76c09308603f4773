"""Two processes doing read-then-write on the same row lose no updates (BEGIN IMMEDIATE / FOR UPDATE)."""

import multiprocessing

from roster.db import make_engine, session_factory
from roster.models import MetaTeamConsent, Role

INCREMENTS_PER_PROCESS = 300
PROCESSES = 2


def increment_consent(url: str, person_id: int, times: int, start) -> None:
    """Child process: its own engine; read the row, add one, commit, ``times`` times."""
    engine = make_engine(url)
    new_session = session_factory(engine)
    start.wait(timeout=60)
    try:
        for _ in range(times):
            with new_session() as session:
                consent = session.get(MetaTeamConsent, person_id, with_for_update=True)
                consent.max_per_week = consent.max_per_week + 1
                session.add(consent)
                session.commit()
    finally:
        engine.dispose()


def test_two_processes_incrementing_one_row_end_at_exactly_600(db_url, engine, session, add_person):
    person = add_person("Dr Nadia Haddad", Role.METATEAM)
    session.add(MetaTeamConsent(person_id=person.id, max_per_week=0))
    session.commit()

    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    workers = [
        spawn.Process(target=increment_consent, args=(db_url, person.id, INCREMENTS_PER_PROCESS, start))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * PROCESSES

    session.expire_all()
    assert session.get(MetaTeamConsent, person.id).max_per_week == PROCESSES * INCREMENTS_PER_PROCESS
