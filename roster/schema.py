"""Imports every table module so ``SQLModel.metadata`` is complete (for Alembic and tests)."""

from sqlmodel import SQLModel

import roster.models  # noqa: F401  (registers the core tables)

metadata = SQLModel.metadata
