"""Fixtures for integration tests: fresh, migrated databases on real backends.

* ``sqlite_url`` — a migrated SQLite file under ``tmp_path``.
* ``postgres_url`` — a migrated, private schema on the PostgreSQL server named by
  ``RISKDESK_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
  the URL pins ``search_path`` to the schema, which is dropped after the test. Tests using it are
  skipped, with the reason, when no server answers.
* ``store_url`` — both of the above in turn (test ids ``sqlite`` and ``postgres``).
* ``postgres_empty_url`` — like ``postgres_url`` but not migrated (for migration tests).

Each yields a plain URL string: build whatever you need from it (``SqlStore(url)``) and dispose
of it before the test ends (the schema is dropped after the test).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from riskdesk.adapters.persistence import normalize_url, upgrade

POSTGRES_URL_ENV = "RISKDESK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> URL:
    """The PostgreSQL server URL, after checking it answers (skips the test otherwise).

    pytest caches the skip for the session, so an absent server costs one connection attempt."""
    url = normalize_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        pytest.skip(
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)} "
            f"({reason}); start it or point {POSTGRES_URL_ENV} at a server to run these tests"
        )
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_empty_url(postgres_server_url: URL) -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty schema; the schema is dropped afterwards."""
    schema = f"rdtest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _render(postgres_server_url.update_query_dict({"options": f"-csearch_path={schema}"}))
    finally:
        with admin.begin() as connection:
            # Fail rather than hang if a test leaked a connection that still holds locks.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_empty_url: str) -> str:
    """A fresh, migrated PostgreSQL schema (see :func:`postgres_empty_url`)."""
    upgrade(postgres_empty_url)
    return postgres_empty_url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (a copy is ~100x faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "riskdesk.db"
    upgrade(f"sqlite:///{path}")
    # Closing the last connection checkpoints the WAL, so the main file is the whole database.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> str:
    """A fresh, migrated SQLite file database."""
    path = tmp_path_factory.mktemp("db") / "riskdesk.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database URL on each backend (ids ``sqlite`` and ``postgres``)."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url
