"""``POST /api/v1/rebalance`` through FastAPI's TestClient (seed 000's schema)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.interfaces.api.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    runtime = build(Settings(), str(tmp_path_factory.mktemp("api") / "api.db"), create=True)
    return TestClient(create_app(runtime.app))


def test_seed_request_and_response(client: TestClient) -> None:
    response = client.post(
        "/api/v1/rebalance",
        json={
            "option_symbol": "AAPL260807P00300000",
            "position_size": -3,
            "entry_price": 1.0,
            "position_type": "short_put",
            "risk_tolerance": "moderate",
            "max_additional_capital": 0.0,
            "target_days_to_roll": 21,
            "defensive_roll_trigger": 0.15,
            "preferred_roll_types": ["calendar", "diagonal", "triple_strike_resize"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    for key in (
        "status",
        "decision",
        "confidence",
        "execution_plan",
        "risk_metrics",
        "roll_strategies",
        "warnings",
    ):
        assert key in body
    assert body["status"] == "success" and body["decision"] == "ROLL"
    assert body["valuation_time"] == "2026-07-24T19:59:59Z"
    metrics = body["risk_metrics"]
    assert metrics["current_pnl"] == "33.00" and metrics["days_to_expiry"] == 14
    plan = body["execution_plan"]
    assert [o["action"] for o in plan["orders"]] == ["BTC", "STO"]
    assert plan["ticket"]["type"] == "combo"
    assert {f["name"] for f in body["factors"]} >= {"expiry_near", "credit_roll"}
    assert body["roll_strategies"] and body["warnings"]


def test_bad_input_names_the_field(client: TestClient) -> None:
    zero = client.post(
        "/api/v1/rebalance",
        json={"option_symbol": "AAPL260807P00300000", "position_size": 0, "entry_price": 1},
    )
    assert zero.status_code == 422
    assert zero.json()["error"]["field"] == "position_size"
    unknown = client.post(
        "/api/v1/rebalance",
        json={"option_symbol": "AAPL260807P00301000", "position_size": -1, "entry_price": 1},
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    schema = client.post("/api/v1/rebalance", json={"option_symbol": "AAPL260807P00300000"})
    assert schema.status_code == 422  # pydantic: missing fields
    extra = client.post(
        "/api/v1/rebalance",
        json={"option_symbol": "X", "position_size": 1, "entry_price": 1, "colour": "red"},
    )
    assert extra.status_code == 422


def test_openapi_documents_the_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/rebalance" in spec["paths"]
    assert "RebalanceResponse" in spec["components"]["schemas"]
