"""Shared fixtures: the bundled CBOE AAPL chain (2026-07-24) analysed once per session."""

from __future__ import annotations

import pytest

from riskdesk.adapters.market_data.chain_snapshot import (
    bundled_crypto_snapshots,
    bundled_equity_snapshots,
)
from riskdesk.domain.rebalance import ChainIndex, EngineConfig, RateInputs, analyse_chain


@pytest.fixture(scope="session")
def aapl() -> ChainIndex:
    """The AAPL chain at r = 4 %, q = 0 (the default configuration)."""
    return analyse_chain(bundled_equity_snapshots().chain("AAPL"), RateInputs(0.04, 0.0))


@pytest.fixture(scope="session")
def btc() -> ChainIndex:
    """The 6 bundled Deribit BTC tickers (inverse options, one expiry)."""
    return analyse_chain(bundled_crypto_snapshots().chain("BTC"), RateInputs(0.04, 0.0, 0.0))


@pytest.fixture(scope="session")
def config() -> EngineConfig:
    """Default engine configuration."""
    return EngineConfig()
