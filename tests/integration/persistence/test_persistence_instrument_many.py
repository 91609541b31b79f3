"""``instruments.many``: a batch of catalog entries in one query per chunk of keys (what a
report reads on every mark update), on SQLite and PostgreSQL."""

from __future__ import annotations

from persistence_testkit import CATALOG, seed

from riskdesk.adapters.persistence import SqlStore
from riskdesk.adapters.persistence.statements import IN_CHUNK
from riskdesk.domain.instruments import perpetual_or_future


def test_many_returns_the_keys_found(store: SqlStore) -> None:
    seed(store)
    keys = [i.key for i in CATALOG]
    with store() as uow:
        assert uow.instruments.many([*keys, "paper:NOPE", keys[0]]) == {i.key: i for i in CATALOG}
        assert uow.instruments.many([]) == {}


def test_many_reads_more_keys_than_one_chunk(store: SqlStore) -> None:
    extra = [
        perpetual_or_future(f"C{i}/USDT:USDT", "bulk", tick_size="0.01", lot_size="0.001")
        for i in range(IN_CHUNK + 5)
    ]
    with store() as uow:
        for inst in extra:
            uow.instruments.put(inst)
        uow.commit()
    with store() as uow:
        found = uow.instruments.many(i.key for i in extra)
    assert found == {i.key: i for i in extra}
