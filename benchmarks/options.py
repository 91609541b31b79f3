"""Option rebalancer benchmarks on the bundled CBOE AAPL chain (3,576 contracts).

Run: ``.venv/bin/python benchmarks/options.py [--repeat N] [--book N]``

* **one position** — the whole use case for one short put: analysis, roll search over the real
  chain (every expiry 7-60 days beyond the position's, delta/OTM-targeted strikes, resizes,
  the defensive check of each candidate), decision and
  ticket. Target ≤ 50 ms (issue 7). Measured warm (the chain already analysed, as in a running
  server) and cold (chain analytics included: IVs, Greeks and probabilities of all 3,576
  contracts, done once per snapshot).
* **book** — ``--book`` (200) different option positions (puts and calls, short and long, all
  expiries and strikes near the money) through ``RebalanceService.rebalance``: request
  validation, chain lookup (cached), analysis, rolls, decision, ticket. Target ≤ 2 s.

The machines are noisy, so each time is printed with a reference measured in the same run: a
plain-Python (``math``) Black-Scholes price, delta and N(d2) of the contracts one roll search
looks at — the naive per-contract valuation a hand-written tool would do, without quotes,
liquidity, capital, probabilities of loss, scoring or tickets.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from riskdesk.adapters.market_data.chain_snapshot import bundled_equity_snapshots
from riskdesk.application.rebalance_service import (
    RebalanceConfig,
    RebalanceRequest,
    RebalanceService,
)
from riskdesk.domain.rebalance import (
    EngineConfig,
    RateInputs,
    RebalanceParams,
    analyse_chain,
    make_position,
    rebalance,
)
from riskdesk.domain.symbols import OptionRight


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime(2026, 7, 25, 8, tzinfo=UTC)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds per call, ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def naive_reference(contracts: list[tuple[float, float, float, bool]], s: float) -> None:
    """Scalar Black-Scholes price, delta and N(d2) per contract (r = 4 %, q = 0)."""
    r = 0.04
    for k, t, vol, call in contracts:
        sd = vol * math.sqrt(t)
        d1 = (math.log(s / k) + (r + 0.5 * vol * vol) * t) / sd
        d2 = d1 - sd
        n1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
        n2 = 0.5 * (1 + math.erf(d2 / math.sqrt(2)))
        if call:
            _ = (s * n1 - k * math.exp(-r * t) * n2, n1, n2)
        else:
            _ = (k * math.exp(-r * t) * (1 - n2) - s * (1 - n1), n1 - 1, 1 - n2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--book", type=int, default=200)
    args = parser.parse_args()

    source = bundled_equity_snapshots()
    snapshot = source.chain("AAPL")
    config = EngineConfig()
    params = RebalanceParams(max_additional_capital=Decimal(1_000_000))
    position = make_position("AAPL260821P00330000", -10, "8.50")

    cold = timed(lambda: analyse_chain(snapshot, RateInputs(0.04, 0.0)), 5)
    index = analyse_chain(snapshot, RateInputs(0.04, 0.0))
    report = rebalance(position, index, params, config)
    warm = timed(lambda: rebalance(position, index, params, config), args.repeat)

    # The contracts one roll search values: the put's side of the chain in the roll window
    # (expiries 7-60 days beyond the position's own).
    s = float(snapshot.underlying.price)
    i0 = index.find(position.symbol)
    current = snapshot.contracts[i0].expiry
    window = [
        (float(c.strike), float(index.years[i]), float(index.vol[i]), c.right is OptionRight.CALL)
        for i, c in enumerate(snapshot.contracts)
        if c.right is OptionRight.PUT
        and config.roll_min_days_out <= (c.expiry - current).days <= config.roll_max_days_out
        and math.isfinite(index.vol[i])
    ]
    reference = timed(lambda: naive_reference(window, s), args.repeat)

    one = statistics.median(warm)
    ref = statistics.median(reference)
    print(
        f"chain: {len(snapshot.contracts)} contracts, valued at {snapshot.as_of:%Y-%m-%d %H:%M:%S} UTC"
    )
    print(
        f"one position (analysis + {report.rolls.evaluated} roll candidates + decision + ticket): "
        f"median {one * 1e3:.1f} ms, best {min(warm) * 1e3:.1f} ms  (target <= 50 ms: "
        f"{'OK' if one <= 0.050 else 'MISSED'})"
    )
    print(
        f"  cold, chain analytics included: {statistics.median(cold) * 1e3 + one * 1e3:.1f} ms "
        f"(chain analytics {statistics.median(cold) * 1e3:.1f} ms, once per snapshot)"
    )
    print(
        f"  reference: naive scalar BS of the {len(window)} window contracts "
        f"{ref * 1e3:.2f} ms -> ratio {one / ref:.1f}x"
    )

    # A book of different positions through the application service.
    service = RebalanceService(source, source, None, _Clock(), RebalanceConfig(engine=config))  # type: ignore[arg-type]
    candidates = [
        c
        for i, c in enumerate(snapshot.contracts)
        if 7 <= index.dte[i] <= 120
        and 0.85 <= float(c.strike) / s <= 1.15
        and c.bid is not None
        and c.bid > 0
    ]
    step = max(1, len(candidates) // args.book)
    chosen = candidates[::step][: args.book]
    requests = [
        RebalanceRequest(
            c.symbol,
            -((k % 9) + 1) if k % 4 else (k % 5) + 1,
            str((c.bid or Decimal(1)) * Decimal("1.1")),
        )
        for k, c in enumerate(chosen)
    ]
    service.rebalance(requests[0])  # the chain is analysed once, then cached
    start = time.perf_counter()
    actions: dict[str, int] = {}
    for request in requests:
        action = service.rebalance(request).action
        actions[action] = actions.get(action, 0) + 1
    book = time.perf_counter() - start
    print(
        f"book of {len(requests)} option positions: {book:.2f} s "
        f"({book / len(requests) * 1e3:.1f} ms each; target <= 2 s: "
        f"{'OK' if book <= 2.0 else 'MISSED'}); decisions {actions}"
    )
    print(
        f"  reference x {len(requests)}: {ref * len(requests) * 1e3:.1f} ms -> ratio {book / (ref * len(requests)):.1f}x"
    )


if __name__ == "__main__":
    main()
