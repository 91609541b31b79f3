"""Fixtures for the RiskService integration tests: desks over fresh, migrated databases whose
stores are disposed before the database goes away."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from risk_service_kit import Desk, DeskFactory, make_desk


def _factory(url: str) -> Iterator[DeskFactory]:
    made: list[Desk] = []

    def make(**kw: Any) -> Desk:
        desk = make_desk(url, **kw)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.dispose()


@pytest.fixture
def new_desk(sqlite_url: str) -> Iterator[DeskFactory]:
    """Build desks over one fresh SQLite file (call it once per test, with options)."""
    yield from _factory(sqlite_url)


@pytest.fixture
def desk(new_desk: DeskFactory) -> Desk:
    """A desk with the default settings over a fresh SQLite file."""
    return new_desk()


@pytest.fixture
def any_desk(store_url: str) -> Iterator[DeskFactory]:
    """Desk factory over SQLite and PostgreSQL in turn."""
    yield from _factory(store_url)
