"""The one facade every interface (CLI, API, MCP, web) calls."""

from __future__ import annotations

from dataclasses import dataclass

from riskdesk.application.book_service import BookService
from riskdesk.application.demo import DemoService
from riskdesk.application.engine import LazyOms
from riskdesk.application.governance_service import GovernanceService
from riskdesk.application.pricing_service import PricingService
from riskdesk.application.rebalance_service import RebalanceService
from riskdesk.application.risk_service import RiskService
from riskdesk.ports.clock import Clock


@dataclass(frozen=True, slots=True)
class Application:
    """The application services, wired by :mod:`riskdesk.bootstrap`."""

    book: BookService
    demo: DemoService
    clock: Clock
    pricing: PricingService
    risk: RiskService
    options: RebalanceService
    governance: GovernanceService
    oms: LazyOms
