"""Profiles and states: validation naming the field, presets, JSON round trips, the lifecycle
state machine, the settings built on the presets, and pre-trade denials undone."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from governance_kit import BARE, at, profile, run, snap, state

from riskdesk.bootstrap.governance_settings import GovernanceSettings, ProfileSettings
from riskdesk.bootstrap.settings import Settings, describe
from riskdesk.domain.errors import ConfigError, InvalidValue, StateError
from riskdesk.domain.governance import (
    PRESETS,
    ActionKind,
    GovernanceProfile,
    GovernanceState,
    InvalidationCondition,
    Lifecycle,
    LockTier,
    Signal,
    SignalKind,
    TakeProfitTier,
    check_transition,
    preset,
    settle_denials,
)

D = Decimal


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"atr_multiplier": 0.0}, "atr_multiplier"),
        ({"stop_percent": 1.5}, "stop_percent"),
        ({"lock_tiers": (LockTier(0.2, 0.1), LockTier(0.1, 0.0))}, "lock_tiers[1]"),
        ({"lock_tiers": (LockTier(0.1, 0.2),)}, "lock_tiers[0]"),
        ({"r_ladder": (TakeProfitTier(2, 0.7), TakeProfitTier(3, 0.5))}, "r_ladder"),
        ({"roe_ladder": (TakeProfitTier(0.1, 0.0),)}, "roe_ladder[0]"),
        ({"add_on_gamma": 1.0}, "add_on_gamma"),
        ({"add_on_cap": -1}, "add_on_cap"),
        ({"atr_timeframe": "2h"}, "atr_timeframe"),
        ({"trail_percent": float("nan")}, "trail_percent"),
        ({"name": "no spaces"}, "name"),
    ],
)
def test_a_bad_threshold_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as error:
        replace(BARE, **changes)
    assert error.value.field == field


def test_invalidation_conditions_parse_and_refuse_clearly() -> None:
    c = InvalidationCondition.parse({"timeframe": "1h", "close_below": 41500})
    assert c.close_below == D(41500) and c.describe() == "a 1h candle closes below 41500"
    with pytest.raises(InvalidValue, match="exactly one"):
        InvalidationCondition.parse({"timeframe": "1h"})
    with pytest.raises(InvalidValue) as unknown:
        InvalidationCondition.parse({"timeframe": "1h", "close_below": 1, "when": "now"})
    assert unknown.value.field == "invalidation"
    with pytest.raises(InvalidValue) as tf:
        InvalidationCondition.parse({"timeframe": "7h", "close_below": 1})
    assert tf.value.field == "invalidation.timeframe"


def test_presets_carry_the_seed_numbers() -> None:
    standard = preset("standard")
    assert standard.lock_tiers[:2] == (LockTier(0.10, 0.0), LockTier(0.20, 0.10))
    assert [(t.trigger, t.fraction) for t in standard.r_ladder] == [(2, 0.5), (3, 0.3), (4, 0.2)]
    perp = preset("perp_roe")
    assert perp.add_on_cap == 2 and perp.add_on_roe_tiers == (0.05, 0.10)
    assert perp.roe_ladder[0] == TakeProfitTier(0.12, 0.30) and perp.r_ladder == ()
    with pytest.raises(ConfigError, match="unknown governance preset"):
        preset("yolo")


@pytest.mark.parametrize("name", PRESETS)
def test_profiles_and_states_round_trip_through_json(name: str) -> None:
    p = replace(preset(name), invalidation=(InvalidationCondition("4h", close_above=D("70000.5")),))
    assert GovernanceProfile.from_dict(p.to_dict()) == p
    s, _ = run(
        state(p, activation_price=D("51000")),
        [(1, snap("50000", signals=(Signal("z", SignalKind.EXIT, 1, at(1)),)))],
    )
    assert GovernanceState.from_dict(s.to_dict()) == s


def test_lifecycle_transitions_are_checked() -> None:
    check_transition(Lifecycle.PENDING_ENTRY, Lifecycle.ACTIVE, "i")
    check_transition(Lifecycle.PENDING_CLOSING, Lifecycle.ACTIVE, "i")
    for current, target in [
        (Lifecycle.PENDING_ENTRY, Lifecycle.CLOSED),
        (Lifecycle.ACTIVE, Lifecycle.PENDING_ENTRY),
        (Lifecycle.CLOSED, Lifecycle.ACTIVE),
        (Lifecycle.FAILED, Lifecycle.ACTIVE),
    ]:
        with pytest.raises(StateError) as error:
            check_transition(current, target, "intent-9")
        assert error.value.code == "illegal_state" and "intent-9" in error.value.reason
    s = state()
    assert s.transition(Lifecycle.FAILED, "entry expired", at(1)).exit_reason == "entry expired"
    with pytest.raises(TypeError, match="no field"):
        s.evolve(nonsense=1)


def test_a_denied_order_is_undone_in_the_state() -> None:
    p = profile(
        r_ladder=(TakeProfitTier(2, 0.5),),
        add_on_cap=1,
        add_on_requires_signal=False,
        add_on_roe_tiers=(0.05,),
        add_on_min_interval=0.0,
    )
    s1, _ = run(state(p), [(1, snap("50000"))])
    # An add (ROE 6 %) and a stop move in one plan.
    result = run(s1, [(2, snap("50300"))])[1][0]
    add = next(a for a in result.actions if a.kind is ActionKind.ADD)
    undone = settle_denials(s1, result, {add.intent_id}, at(2))  # type: ignore[arg-type]
    assert undone.add_count == 0 and undone.last_add_at is None
    # A take-profit and its stop resize both refused: the tier re-arms, the old stop stays.
    tp = run(s1, [(2, snap("52000"))])[1][0]
    denied = {a.intent_id for a in tp.actions if a.intent_id}
    back = settle_denials(s1, tp, denied, at(2))  # type: ignore[arg-type]
    assert back.tp_r_done == 0 and back.expected_qty == 2 and back.stop_qty == 2
    assert back.stop_price == s1.stop_price and back.stop_intent_id == s1.stop_intent_id
    # A refused close returns the position to ACTIVE.
    close = run(s1, [(2, snap("48000"))])[1][0]
    assert close.state.lifecycle is Lifecycle.PENDING_CLOSING
    reopened = settle_denials(s1, close, {close.actions[0].intent_id}, at(2))  # type: ignore[arg-type]
    assert reopened.lifecycle is Lifecycle.ACTIVE


def test_settings_profiles_start_from_the_presets() -> None:
    g = GovernanceSettings()
    config = g.to_config()
    for name in PRESETS:
        assert config.profiles[name] == preset(name)
    custom = GovernanceSettings.model_validate(
        {
            "profiles": {
                "perp_roe": {"atr_multiplier": 2.5},
                "tight": {"lock_tiers": [{"trigger_roe": 0.05, "lock_roe": 0.0}]},
            },
            "assignments": {"binance:BTC/USDT:USDT": "tight"},
        }
    ).to_config()
    assert custom.profiles["perp_roe"] == replace(preset("perp_roe"), atr_multiplier=2.5)
    assert custom.profiles["tight"].lock_tiers == (LockTier(0.05, 0.0),)
    assert custom.profiles["tight"].r_ladder == preset("standard").r_ladder
    assert set(custom.profiles) == {*PRESETS, "tight"}
    assert custom.profile_for("acct", "binance", "BTC/USDT:USDT").name == "tight"
    assert custom.profile_for("acct", "deribit", "BTC-PERPETUAL").name == "standard"


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"governance\.profiles\.x\.stop_percent"):
        GovernanceSettings.model_validate({"profiles": {"x": {"stop_percent": 2}}})
    with pytest.raises(ValueError, match="unknown profile 'nope'"):
        GovernanceSettings.model_validate({"default_profile": "nope"})
    with pytest.raises(ValueError, match="unknown preset"):
        ProfileSettings.model_validate({"preset": "nope"})
    with pytest.raises(ValueError, match="extra"):
        GovernanceSettings.model_validate({"profiles": {"x": {"typo_field": 1}}})


def test_every_governance_threshold_is_listed_with_a_description() -> None:
    rows = [r for r in describe(Settings()) if r[0].startswith("governance.profiles.standard.")]
    names = {r[0].rsplit(".", 1)[1] for r in rows}
    assert {"atr_multiplier", "lock_tiers", "r_ladder", "add_on_gamma", "stagnation_roe"} <= names
    assert all(description for _, _, description in rows)
