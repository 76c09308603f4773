def test_engine_fixture(session):
    from sqlmodel import select
    from roster.models import Person
    assert session.exec(select(Person)).all() == []
