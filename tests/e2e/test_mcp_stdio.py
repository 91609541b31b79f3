"""MCP server through the official SDK client: stdio against ``riskdesk mcp`` (a subprocess on
this venv's Python), and streamable HTTP in process. No network."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from riskdesk.bootstrap.settings import Settings
from riskdesk.bootstrap.wiring import build
from riskdesk.interfaces.mcp.server import create_server

TOOLS = {
    "parse_option_symbol",
    "option_quote",
    "option_chain",
    "analyze_option_position",
    "evaluate_rolls",
    "rebalance_option_position",
    "portfolio_greeks",
}
POSITION = {"option_symbol": "AAPL260821P00330000", "position_size": -10, "entry_price": 8.5}


def text(result: Any) -> str:
    return str(result.content[0].text)


async def exercise(session: ClientSession) -> None:
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.output_schema is not None and tool.description
    assert tools["analyze_option_position"].input_schema["required"] == [
        "option_symbol",
        "position_size",
        "entry_price",
    ]
    assert tools["rebalance_option_position"].annotations is not None
    assert tools["rebalance_option_position"].annotations.read_only_hint is False
    assert tools["evaluate_rolls"].annotations is not None
    assert tools["evaluate_rolls"].annotations.read_only_hint is True

    prompts = (await session.list_prompts()).prompts
    assert [p.name for p in prompts] == ["option_position_rebalancer"]
    args = {a.name: a.required for a in prompts[0].arguments or []}
    assert args["option_symbol"] and args["position_size"] and args["entry_price"]
    assert not args["risk_tolerance"] and not args["preferred_roll_types"]
    prompt = await session.get_prompt(
        "option_position_rebalancer",
        {"option_symbol": "AAPL260821P00330000", "position_size": "-10", "entry_price": "8.50"},
    )
    guide = prompt.messages[0].content.text  # type: ignore[union-attr]
    for tool in ("parse_option_symbol", "analyze_option_position", "evaluate_rolls"):
        assert tool in guide
    assert "dry_run=true" in guide and "confirm=true" in guide

    parsed = await session.call_tool("parse_option_symbol", {"symbol": "AAPL260821P00330000"})
    assert not parsed.is_error and parsed.structured_content is not None
    assert parsed.structured_content["symbol"]["strike"] == "330"
    for not_option in ("garbage", "AAPL"):
        refused = await session.call_tool("parse_option_symbol", {"symbol": not_option})
        assert refused.is_error and "not an option symbol" in text(refused)

    chain = await session.call_tool("option_chain", {"underlying": "BTC"})
    assert not chain.is_error and chain.structured_content is not None
    assert chain.structured_content["chain"]["total"] == 6
    unknown = await session.call_tool("option_chain", {"underlying": "TSLA"})
    assert unknown.is_error and "BTC (deribit-snapshot: 2026-09-21)" in text(unknown)

    analyzed = await session.call_tool(
        "analyze_option_position", {**POSITION, "position_type": "SHORT_PUT"}
    )
    assert not analyzed.is_error
    data = analyzed.structured_content
    assert data is not None
    assert data["valuation_time"] == "2026-07-25T07:44:38Z"
    a = data["analysis"]
    assert a["unrealized_pnl"] == "-600.00" and a["breakeven"] == "321.5"
    assert 0.3 < a["assignment_probability"] < 0.6
    assert a["market"]["session"] == "closed"  # Saturday 03:44 New York
    # Seed 000's risk metrics, the same as the REST response: P&L in percent.
    metrics = data["risk_metrics"]
    assert metrics["current_pnl"] == -600.0 and metrics["days_to_expiry"] == 27
    assert metrics["pnl_percentage"] == pytest.approx(a["pnl_pct"] * 100)

    rolls = await session.call_tool(
        "evaluate_rolls", {**POSITION, "max_additional_capital": 1000000}
    )
    assert not rolls.is_error and rolls.structured_content is not None
    search = rolls.structured_content["search"]
    candidates = search["rolls"]["candidates"]
    assert candidates and rolls.structured_content["passed"] >= len(candidates)
    first = candidates[0]
    assert {"net_credit_natural", "net_credit_mid", "risk_reduction", "new_breakeven"} <= set(first)
    strategies = rolls.structured_content["roll_strategies"]
    assert [s["target_symbol"] for s in strategies] == [c["open"]["symbol"] for c in candidates]
    assert {"roll_type", "target_size", "net_credit", "success_probability"} <= set(strategies[0])

    plan = await session.call_tool("rebalance_option_position", POSITION)
    assert not plan.is_error and plan.structured_content is not None
    out = plan.structured_content
    # Seed 000's response, as POST /api/v1/rebalance returns it.
    assert out["decision"] in ("hold", "close", "roll") and out["dry_run"] and not out["recorded"]
    assert out["plan_id"] is None
    assert {"status", "confidence", "execution_plan", "risk_metrics", "warnings"} <= set(out)
    assert out["evidence"]["factors"] and out["ticket_text"]

    refused = await session.call_tool("rebalance_option_position", {**POSITION, "dry_run": False})
    assert refused.is_error and "confirm" in text(refused)
    recorded = await session.call_tool(
        "rebalance_option_position", {**POSITION, "dry_run": False, "confirm": True}
    )
    assert not recorded.is_error and recorded.structured_content is not None
    plan_id = recorded.structured_content["plan_id"]
    assert plan_id.endswith("-0001")  # dry runs do not use up plan ids
    latest = await session.read_resource("riskdesk://plans/latest")
    assert plan_id in latest.contents[0].text  # type: ignore[union-attr]

    for bad, message in (
        ({**POSITION, "option_symbol": "AAPL26X821P00330000"}, "[invalid_symbol]"),
        ({**POSITION, "option_symbol": "AAPL240119P00150000"}, "[expired_option]"),
        ({**POSITION, "position_size": 0}, "[invalid_value] position_size: must not be zero"),
        ({**POSITION, "entry_price": 1000}, "[invalid_value] entry_price:"),
        ({**POSITION, "entry_date": "2027-01-01T00:00:00Z"}, "[invalid_value] entry_date:"),
    ):
        result = await session.call_tool("analyze_option_position", bad)
        assert result.is_error and message in text(result), text(result)
    target = await session.call_tool("rebalance_option_position", {**POSITION, "profit_target": 5})
    assert target.is_error and "[invalid_value] profit_target:" in text(target)
    missing = await session.call_tool("analyze_option_position", {"option_symbol": "AAPL"})
    assert missing.is_error and "position_size" in text(missing)


def test_mcp_over_stdio(tmp_path: Path) -> None:
    build(Settings(), str(tmp_path / "mcp.db"), create=True).store.dispose()  # riskdesk init
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "riskdesk.interfaces.main", "mcp", "--db", str(tmp_path / "mcp.db")],
        env={"RISKDESK_DATA_DIR": str(tmp_path)},
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await exercise(session)
            resources = {str(r.uri) for r in (await session.list_resources()).resources}
            assert {"riskdesk://book/positions", "riskdesk://plans/latest"} <= resources
            greeks = await session.call_tool("portfolio_greeks", {})
            assert not greeks.is_error

    anyio.run(main)


def test_mcp_over_streamable_http(tmp_path: Path) -> None:
    application = build(Settings(), str(tmp_path / "http.db"), create=True).app
    web = create_server(application).streamable_http_app()

    async def main() -> None:
        async with web.router.lifespan_context(web):
            client = httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=web), base_url="http://127.0.0.1:8765"
            )
            async with (
                streamable_http_client("http://127.0.0.1:8765/mcp", http_client=client) as (
                    read,
                    write,
                ),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                result = await session.call_tool("option_quote", {"symbol": "AAPL260821P00330000"})
                assert not result.is_error and result.structured_content is not None
                assert result.structured_content["valuation_time"] == "2026-07-25T07:44:38Z"

    anyio.run(main)
