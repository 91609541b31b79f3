"""Migrations: idempotent, complete (the migrated schema equals ``MetaData``), and engine setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from persistence_testkit import NETTING, seed
from sqlalchemy import Column, Integer, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError

from riskdesk.adapters.persistence import (
    SqlStore,
    create_store_engine,
    current_revision,
    head_revision,
    normalize_url,
    upgrade,
)
from riskdesk.adapters.persistence.tables import metadata


def _diffs(store: SqlStore, target: MetaData) -> list[Any]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_migrated_schema_matches_metadata(store: SqlStore) -> None:
    assert _diffs(store, metadata) == []


def test_the_comparison_would_see_a_difference(store: SqlStore) -> None:
    # Guards the test above against comparing nothing.
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["fills"].append_column(Column("extra", Integer()))
    changed.tables["prices"].c.price.type = Integer()
    # Column changes come grouped in a list per column; table-level ones as plain tuples.
    ops = sorted(d[0][0] if isinstance(d, list) else d[0] for d in _diffs(store, changed))
    assert ops == ["add_column", "modify_type"]


def test_every_table_exists(store: SqlStore) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert names == set(metadata.tables) | {"alembic_version"}


def test_migrate_twice_is_a_no_op(store: SqlStore) -> None:
    seed(store, NETTING)
    assert store.is_current()
    store.migrate()
    store.migrate()
    assert current_revision(store.engine) == head_revision()
    with store() as uow:
        assert uow.accounts.all() == [NETTING]


def test_upgrade_from_an_empty_database_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'riskdesk.db'}"
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()


def test_upgrade_on_postgres_by_engine(postgres_empty_url: str) -> None:
    with SqlStore(postgres_empty_url) as store:
        assert not store.is_current()
        upgrade(store.engine)
        assert store.is_current()
        assert _diffs(store, metadata) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 30_000


def test_sqlite_enforces_foreign_keys(sqlite_store: SqlStore) -> None:
    with sqlite_store() as uow, pytest.raises(IntegrityError, match="FOREIGN KEY"):
        uow.connection.execute(
            text(
                "INSERT INTO balances (account_id, currency, amount) VALUES ('nobody', 'USD', '1')"
            )
        )


def test_in_memory_sqlite_shares_one_database() -> None:
    with SqlStore("sqlite://") as store:
        store.migrate()
        seed(store, NETTING)
        with store() as uow:
            assert uow.accounts.all() == [NETTING]


def test_urls_are_normalised_to_psycopg() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported database URL") as error:
        create_store_engine("mysql+pymysql://u:secret@h/db")
    assert "secret" not in str(error.value)
