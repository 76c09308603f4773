"""Helpers shared by the foundation tests."""

from __future__ import annotations

import itertools

import pytest

from roster.models import Person, Role


@pytest.fixture
def add_person(session):
    """Add and commit a person with a unique drama-range phone; returns the Person."""
    numbers = itertools.count(100)

    def add(name: str = "Sam Okafor", role: Role = Role.KEYWORKER, **fields) -> Person:
        person = Person(name=name, phone=f"+447700900{next(numbers):03d}", role=role.value, **fields)
        session.add(person)
        session.commit()
        return person

    return add
