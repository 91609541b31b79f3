"""Fixtures for the persistence adapter tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskdesk.adapters.persistence import SqlStore


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """A store on a fresh, migrated database (SQLite and PostgreSQL), disposed afterwards."""
    with SqlStore(store_url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlStore]:
    """A store on a fresh, migrated SQLite file."""
    with SqlStore(sqlite_url) as opened:
        yield opened
