"""Imports every table module so ``SQLModel.metadata`` is complete (for Alembic and tests)."""

from sqlmodel import SQLModel

import roster.models  # noqa: F401  (registers the core tables)
import roster.supervision.models  # noqa: F401  (supervision tables)
import roster.quorum.models  # noqa: F401  (quorum tables)

metadata = SQLModel.metadata
