"""The bundled data: every file has its source and licence in metadata.json, nothing in the
package is under a copyleft licence (riskdesk is Apache-2.0), and the bundled Binance bracket
table is riskdesk's own file whose derived maintenance amounts match Binance's published ones."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from riskdesk.adapters.market_data.bundled import metadata, read_tiers
from riskdesk.bootstrap.margin_tables import BUNDLED_TIER_TABLES, load_margin_tiers
from riskdesk.domain.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]


def _bundled_files() -> set[str]:
    base = resources.files("riskdesk.data")
    out: set[str] = set()

    def walk(node: object, prefix: str) -> None:
        for child in node.iterdir():  # type: ignore[attr-defined]
            name = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, name + "/")
            elif not name.endswith((".py", ".pyc")) and name != "metadata.json":
                out.add(name)

    walk(base, "")
    return out


def test_every_bundled_file_has_source_and_licence() -> None:
    files = metadata()["files"]
    assert set(files) == _bundled_files()
    for name, entry in files.items():
        assert entry["source"] and entry["licence"], name


def test_nothing_bundled_is_copyleft() -> None:
    for name, entry in metadata()["files"].items():
        assert "GPL" not in entry["licence"], name


def test_project_licence_file() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_bundled_brackets_and_their_derived_maintenance_amounts() -> None:
    """Binance publishes the maintenance amount of each bracket; riskdesk derives it from the
    floors and rates (cum_n = floor_n·(mmr_n − mmr_n−1) + cum_n−1) — the two agree."""
    btc = read_tiers(BUNDLED_TIER_TABLES["binance-usdm"], "BTC/USDT:USDT")
    assert len(btc) == 12
    assert [t.maint_amount for t in btc[:5]] == [
        Decimal(0),
        Decimal(50),
        Decimal(950),
        Decimal(11450),
        Decimal(131450),
    ]
    assert btc[-1].maint_margin_rate == Decimal("0.5") and btc[-1].max_leverage == 1
    eth = load_margin_tiers("binance-usdm", "ETH/USDT:USDT")
    assert eth[5].floor == 50_000_000 and eth[5].maint_amount == 381450


def test_unknown_symbol_in_the_bundled_table_names_what_it_holds() -> None:
    with pytest.raises(ValidationError) as info:
        load_margin_tiers("binance-usdm", "SOL/USDT:USDT")
    assert info.value.field == "tiers"
    assert "BTC/USDT:USDT, ETH/USDT:USDT" in info.value.reason
