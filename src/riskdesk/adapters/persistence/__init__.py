"""SQL persistence adapter: the store ports over SQLAlchemy 2 (SQLite with WAL, or PostgreSQL).

Build a store from a URL, migrate it, and open one unit of work per use case::

    store = SqlStore("sqlite:///riskdesk.db")
    store.migrate()
    with store() as uow:
        ...
        uow.commit()
"""

from riskdesk.adapters.persistence.engine import create_store_engine, normalize_url
from riskdesk.adapters.persistence.migrations import current_revision, head_revision, upgrade
from riskdesk.adapters.persistence.unit_of_work import SqlStore, SqlUnitOfWork, make_uow_factory

__all__ = [
    "SqlStore",
    "SqlUnitOfWork",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "make_uow_factory",
    "normalize_url",
    "upgrade",
]
