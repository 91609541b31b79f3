"""The cheap builders of frozen value objects (``fast_init``, ``frozen_factory``,
``fast_replace``): what they build is what the dataclass's own constructor builds."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from riskdesk.domain.events import Event
from riskdesk.domain.values import fast_init, fast_replace, frozen_factory


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: list[int] = field(default_factory=list)
    c: str = "x"
    d: str = field(init=False, default="d")
    e: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "e", self.c * 2)


@fast_init
@dataclass(frozen=True, slots=True)
class Fast:
    a: int
    b: list[int] = field(default_factory=list)
    c: str = "x"
    d: str = field(init=False, default="d")
    e: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "e", self.c * 2)


@fast_init
@dataclass(frozen=True, slots=True)
class Happened(Event):
    what: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int
    label: str = ""


T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_fast_init_builds_what_the_dataclass_builds() -> None:
    fast, plain = Fast(1, [2], c="z"), Plain(1, [2], c="z")
    assert dataclasses.astuple(fast) == dataclasses.astuple(plain)
    assert (fast.d, fast.e) == (plain.d, plain.e) == ("d", "zz")
    assert type(fast) is Fast and fast == Fast(1, [2], c="z")
    event = Happened(T0, "acct", "fill", Decimal(1))
    assert hash(event) == hash(Happened(T0, "acct", "fill", Decimal(1)))
    assert Fast(1).b == [] and Fast(1).b is not Fast(1).b
    assert str(inspect.signature(Fast)) == str(inspect.signature(Plain))
    assert repr(fast) == repr(plain).replace("Plain", "Fast")
    assert dataclasses.replace(fast, a=5) == Fast(5, [2], c="z")
    assert pickle.loads(pickle.dumps(fast)) == fast  # noqa: S301 - our own bytes
    assert copy.deepcopy(fast) == fast


def test_fast_instances_stay_frozen() -> None:
    event = Happened(T0, "acct", "fill", Decimal("1.5"))
    for obj, name in ((Fast(1), "a"), (event, "ts"), (event, "what")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 2)
    assert event.to_dict() == {
        "kind": "event",
        "ts": T0.isoformat(),
        "account_id": "acct",
        "what": "fill",
        "amount": "1.5",
    }


def test_subclasses_are_built_as_themselves() -> None:
    @dataclass(frozen=True, slots=True)
    class Sub(Fast):
        extra: int = 0

    sub = Sub(1, extra=3)
    assert type(sub) is Sub and (sub.a, sub.extra, sub.e) == (1, 3, "xx")


def test_factory_and_replace() -> None:
    make = frozen_factory(Point)
    assert make(1, 2) == Point(1, 2) and type(make(1, 2, "p")) is Point
    replace = fast_replace(Point)
    point = Point(1, 2, "p")
    assert replace(point, y=5) == dataclasses.replace(point, y=5) == Point(1, 5, "p")
    assert replace(point) == point and replace(point) is not point
    with pytest.raises(dataclasses.FrozenInstanceError):
        make(1, 2).x = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        fast_replace(Plain)  # validates in __post_init__
