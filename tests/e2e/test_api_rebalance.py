"""``POST /api/v1/rebalance`` through FastAPI's TestClient: seed 000's schema field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.interfaces.api.app import create_app

# Seed 000, "Appendix C: 示例输出" (example output), verbatim.
SEED_EXAMPLE = json.loads(
    """
{
  "status": "success",
  "decision": "TRIPLE_STRIKE_RESIZE_ROLL",
  "confidence": 0.82,
  "execution_plan": {
    "orders": [
      {
        "action": "BTC",
        "symbol": "TSLA250919P00390000",
        "quantity": 100,
        "price": 8.50,
        "order_type": "LMT",
        "time_in_force": "GTC"
      },
      {
        "action": "STO",
        "symbol": "TSLA251031P00365000",
        "quantity": 50,
        "price": 19.40,
        "order_type": "LMT",
        "time_in_force": "GTC"
      }
    ],
    "net_credit": 12000,
    "risk_reduction": "60%",
    "new_breakeven": 345.60
  },
  "risk_metrics": {
    "current_pnl": 45000,
    "pnl_percentage": 34.6,
    "assignment_probability": 0.72,
    "days_to_expiry": 7,
    "theta_daily": -850
  }
}
"""
)
# Seed 000's dataclasses: RebalanceResponse, RiskMetrics and RollStrategy (name -> JSON type).
SEED_RESPONSE = {
    "status": str,
    "decision": str,
    "confidence": float,
    "execution_plan": dict,
    "risk_metrics": dict,
    "roll_strategies": list,
    "warnings": list,
}
SEED_RISK_METRICS = {
    "assignment_probability": float,
    "max_loss": float,
    "max_profit": float,
    "breakeven_price": float,
    "current_pnl": float,
    "pnl_percentage": float,
    "time_decay_daily": float,
}
SEED_ROLL_STRATEGY = {
    "roll_type": str,
    "target_symbol": str,
    "target_strike": float,
    "target_expiry": str,  # datetime, ISO 8601 in JSON
    "target_size": int,
    "net_credit": float,
    "additional_capital_required": float,
    "improved_breakeven": float,
    "success_probability": float,
    "risk_reduction": float,
}
SEED_EXECUTION_PLAN = {
    "primary_action": str,
    "orders": list,
    "estimated_cost": float,
    "estimated_proceeds": float,
    "net_cash_flow": float,
    "risk_warnings": list,
    "monitoring_points": list,
}
# The seed types these as int (position_size / target_size contracts, days).
INTEGER_FIELDS = {"quantity", "days_to_expiry", "target_size"}


def json_type_ok(value: object, expected: type, name: str) -> bool:
    """``value`` has the JSON type of ``expected``: numbers accept int and float (JSON does not
    tell 12000 from 12000.0) except the seed's integer fields; never a bool."""
    if isinstance(value, bool):
        return expected is bool
    if name in INTEGER_FIELDS:
        return isinstance(value, int)
    if expected in (int, float):
        return isinstance(value, int | float)
    return isinstance(value, expected)


def check_like(example: Any, actual: Any, path: str) -> None:
    """Every field of ``example`` is in ``actual`` with the same JSON type (recursively)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), path
        for key, value in example.items():
            assert key in actual, f"{path}.{key} missing"
            check_like(value, actual[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list) and actual, path
        for item in actual:
            check_like(example[0], item, f"{path}[]")
    else:
        name = path.rsplit(".", 1)[-1].rstrip("[]")
        assert json_type_ok(actual, type(example), name), f"{path}: {actual!r}"


def check_fields(spec: dict[str, type], actual: dict[str, Any], path: str) -> None:
    for key, expected in spec.items():
        assert key in actual, f"{path}.{key} missing"
        value = actual[key]
        if value is None and key in {"max_loss", "max_profit", "improved_breakeven"}:
            continue  # unbounded / no breakeven: JSON null (documented)
        assert json_type_ok(value, expected, key), f"{path}.{key}: {value!r}"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    runtime = build(Settings(), str(tmp_path_factory.mktemp("api") / "api.db"), create=True)
    return TestClient(create_app(runtime.app))


SEED_REQUEST = {
    "option_symbol": "AAPL260807P00300000",
    "position_size": -3,
    "entry_price": 1.0,
    "position_type": "SHORT_PUT",  # the seed upper-cases it: PositionType[...upper()]
    "risk_tolerance": "Moderate",
    "max_additional_capital": 0.0,
    "target_days_to_roll": 21,
    "defensive_roll_trigger": 0.15,
    "preferred_roll_types": ["calendar", "diagonal", "TRIPLE_STRIKE_RESIZE"],
}


def test_response_has_every_field_of_the_seed_example_with_its_type(client: TestClient) -> None:
    response = client.post("/api/v1/rebalance", json=SEED_REQUEST)
    assert response.status_code == 200, response.text
    body = response.json()
    check_like(SEED_EXAMPLE, body, "response")
    check_fields(SEED_RESPONSE, body, "response")
    check_fields(SEED_RISK_METRICS, body["risk_metrics"], "risk_metrics")
    check_fields(SEED_EXECUTION_PLAN, body["execution_plan"], "execution_plan")
    for strategy in body["roll_strategies"]:
        check_fields(SEED_ROLL_STRATEGY, strategy, "roll_strategies[]")
        assert strategy["roll_type"] in ("calendar", "diagonal", "triple_strike_resize")
    assert all(isinstance(w, str) for w in body["warnings"])
    assert all(isinstance(m, str) for m in body["execution_plan"]["monitoring_points"])


def test_seed_conventions(client: TestClient) -> None:
    body = client.post("/api/v1/rebalance", json=SEED_REQUEST).json()
    # The seed's DecisionType values are lower case.
    assert body["status"] == "success" and body["decision"] == "roll"
    assert body["valuation_time"] == "2026-07-25T07:44:38Z"
    evidence = body["evidence"]
    assert evidence["action"] == "ROLL" and evidence["currency"] == "USD"
    analysis = evidence["analysis"]
    metrics = body["risk_metrics"]
    # P&L 33.00 USD on a 300.00 premium: 11 % as the seed's percent (34.6 = 34.6 %).
    assert metrics["current_pnl"] == 33.0
    assert metrics["pnl_percentage"] == pytest.approx(11.0)
    assert metrics["pnl_percentage"] == pytest.approx(analysis["pnl_pct"] * 100)
    assert 0 <= metrics["assignment_probability"] <= 1
    assert metrics["days_to_expiry"] == 13
    assert metrics["theta_daily"] == metrics["time_decay_daily"] > 0  # a short earns theta
    plan = body["execution_plan"]
    orders = plan["orders"]
    assert [o["action"] for o in orders] == ["BTC", "STO"]
    assert [o["quantity"] for o in orders] == [3, 3]
    assert all(o["order_type"] == "LMT" and o["time_in_force"] == "DAY" for o in orders)
    # Leg prices are the mids; net_credit is the cash at the combo's first limit.
    assert orders[0]["price"] == pytest.approx(float(analysis["mark"]))
    ticket = plan["evidence"]["ticket"]
    assert plan["net_credit"] == pytest.approx(float(ticket["limit_price"]) * 300)
    assert plan["risk_reduction"].endswith("%")
    chosen = next(s for s in body["roll_strategies"] if s["target_symbol"] == orders[1]["symbol"])
    assert plan["new_breakeven"] == chosen["improved_breakeven"]
    # Roll strategies: signed target size like position_size, net credit at natural.
    for strategy in body["roll_strategies"]:
        assert strategy["target_size"] < 0
        candidate = strategy["evidence"]
        assert strategy["net_credit"] == float(candidate["net_credit_natural"])
        assert strategy["success_probability"] == candidate["prob_profit"]
        assert strategy["risk_reduction"] == candidate["risk_reduction"]


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"position_size": 0}, 422, "position_size", "must not be zero"),
        ({"option_symbol": "AAPL260807P00301000"}, 404, "option_symbol", "listed expiries"),
        ({"entry_price": 1000}, 422, "entry_price", "no-arbitrage bound"),
        ({"entry_date": "2027-01-01T00:00:00Z"}, 422, "entry_date", "after the valuation"),
        ({"profit_target": 5}, 422, "profit_target", "(0, 1]"),
        ({"position_type": "LONG_PUT"}, 422, "position_type", "does not match"),
        # Schema errors (pydantic) in the same shape.
        ({"position_type": "straddle"}, 422, "position_type", "short_put"),
        ({"colour": "red"}, 422, "colour", "Extra inputs"),
        ({"risk_tolerance": "reckless"}, 422, "risk_tolerance", "conservative"),
    ],
)
def test_errors_name_the_field_in_riskdesk_shape(
    client: TestClient, body: dict[str, object], status: int, field: str, words: str
) -> None:
    request = {"option_symbol": "AAPL260807P00300000", "position_size": -3, "entry_price": 1}
    response = client.post("/api/v1/rebalance", json={**request, **body})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "field", "reason"}
    assert error["field"] == field and words in error["reason"]


def test_missing_fields_are_reported_in_riskdesk_shape(client: TestClient) -> None:
    response = client.post("/api/v1/rebalance", json={"option_symbol": "AAPL260807P00300000"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "invalid_value" and "detail" not in body
    assert {e["field"] for e in body["errors"]} == {"position_size", "entry_price"}


def test_openapi_documents_the_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/rebalance" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert "SeedResponse" in schemas
    assert set(SEED_RESPONSE) <= set(schemas["SeedResponse"]["properties"])
