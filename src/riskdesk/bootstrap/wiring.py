"""The composition root: build the application from settings (tests pass overrides)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.engine import make_url

from riskdesk.adapters.clock import SystemClock
from riskdesk.adapters.market_data.bundled import demo_scenario
from riskdesk.adapters.persistence import SqlStore
from riskdesk.application.book_service import BookConfig, BookService
from riskdesk.application.demo import DemoService
from riskdesk.application.engine import LazyOms
from riskdesk.application.facade import Application
from riskdesk.application.pricing_service import PricingService, option_deltas
from riskdesk.application.risk_service import RiskConfig, RiskService
from riskdesk.bootstrap.demo_paper import paper_desk
from riskdesk.bootstrap.governance_settings import build_governance_service
from riskdesk.bootstrap.oms_wiring import build_oms
from riskdesk.bootstrap.options_settings import build_options_service
from riskdesk.bootstrap.settings import Settings
from riskdesk.domain.accounting.margin import MaintenanceBasis, MarginConvention, OptionMarginRates
from riskdesk.domain.errors import DatabaseMissing
from riskdesk.ports.clock import Clock
from riskdesk.ports.market_data import Scenario


def book_config(settings: Settings) -> BookConfig:
    """Plain book configuration from typed settings."""
    om = settings.option_margin
    return BookConfig(
        reporting_currency=settings.reporting_currency,
        fixed_rates=dict(settings.fixed_rates),
        conventions={
            venue: MarginConvention(MaintenanceBasis(c.basis), c.close_fee_rate)
            for venue, c in settings.margin_conventions.items()
        },
        option_rates=OptionMarginRates(
            equity_base=om.equity_base,
            equity_floor=om.equity_floor,
            crypto_im_base=om.crypto_im_base,
            crypto_im_floor=om.crypto_im_floor,
            crypto_mm_base=om.crypto_mm_base,
        ),
    )


def risk_config(settings: Settings) -> RiskConfig:
    """Plain risk configuration from typed settings (limits from the preset and overrides)."""
    pricing = settings.pricing
    return RiskConfig(
        limits=settings.risk.to_limits(),
        thresholds=settings.risk.to_thresholds(),
        policy=settings.risk.to_policy(),
        risk_free_rate=pricing.risk_free_rate,
        dividend_yields=dict(pricing.dividend_yields),
        spot_shocks=tuple(pricing.spot_shocks),
        vol_shocks=tuple(pricing.vol_shocks),
        time_steps_days=tuple(pricing.time_steps_days),
        paper_venue=settings.oms.paper.venue,
        manual_mark_sources=frozenset(settings.risk.manual_mark_sources),
    )


def database_url(settings: Settings, db: str | None = None) -> str:
    """``db`` may be a SQLAlchemy URL or a file path (a SQLite database)."""
    if db is None:
        return settings.effective_database_url
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


@dataclass(frozen=True, slots=True)
class Runtime:
    """A built application and the store behind it."""

    app: Application
    store: SqlStore
    url: str


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def require_database(url: str, db: str | None = None) -> None:
    """Refuse a SQLite database file that does not exist: reading (or writing) a mistyped
    ``--db`` path must not silently create an empty book there. Only ``riskdesk init`` and the
    commands documented to create their state (the demo, the replay) pass ``create=True``."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    hint = "riskdesk init" + (f" --db {db}" if db else "")
    raise DatabaseMissing(
        f"no database at {path}: create it with `{hint}` (or run `riskdesk demo` for a sample "
        "book); nothing was created",
        field="db",
    )


def build(
    settings: Settings,
    db: str | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    create: bool = False,
) -> Runtime:
    """Wire the application over the SQL store at ``db`` (or the configured URL).

    A SQLite file that does not exist is an error (:class:`DatabaseMissing`) unless ``create``
    is set, in which case it (and its directory) is created and migrated."""
    url = database_url(settings, db)
    if create:
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        require_database(url, db)
    store = SqlStore(url)
    if migrate:
        store.migrate()
    clock = clock or SystemClock()
    pricing_config = settings.pricing.to_config()
    # Option exposure is the delta the pricing layer implies from each stored mark.
    deltas = partial(option_deltas, config=pricing_config)
    book = BookService(store, clock, book_config(settings), deltas)
    pricing = PricingService(book, pricing_config)
    risk = RiskService(book, store, clock, risk_config(settings))
    options = build_options_service(settings, book, clock)
    governance = build_governance_service(settings.governance, book, risk, store, clock)
    app = Application(
        book=book,
        demo=DemoService(
            book, risk, lambda twins: paper_desk(settings, url, store, book, risk, twins)
        ),
        clock=clock,
        pricing=pricing,
        risk=risk,
        options=options,
        governance=governance,
        oms=LazyOms(lambda: build_oms(settings, url, store, book, risk, clock)),
    )
    return Runtime(app, store, url)


def bundled_demo() -> Scenario:
    """The bundled demo scenario (real data shipped in the package)."""
    return demo_scenario()


def demo_settings(settings: Settings, scenario: Scenario) -> Settings:
    """Settings for a scenario: its data may need looser stale-data thresholds (the demo's ETH
    marks are daily closes); everything else stays as configured."""
    risk = settings.risk
    monitors = risk.monitors.model_copy(
        update={
            k: v
            for k, v in scenario.risk_overrides.items()
            if k in ("stale_warning_seconds", "stale_critical_seconds")
        }
    )
    limits = risk.limits.model_copy(
        update={
            k: int(v) if k == "max_positions" else v
            for k, v in scenario.risk_overrides.items()
            if k in ("max_mark_age_seconds", "max_positions", "max_concentration")
        }
    )
    return settings.model_copy(
        update={"risk": risk.model_copy(update={"monitors": monitors, "limits": limits})}
    )
