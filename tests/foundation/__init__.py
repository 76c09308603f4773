"""Tests for issue 2's foundation: roster data, database, CSV, CLI and demo seed."""
