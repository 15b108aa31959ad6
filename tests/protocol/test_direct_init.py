"""``direct_init`` builds the same frozen objects as the ``__init__`` dataclasses writes, faster,
and refuses the classes where it would not."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

import pytest

from protocol.direct_init import direct_init
from protocol.state import Holding, Role


def _record() -> Any:
    """The same dataclass each call: one keeps the generated ``__init__``, one gets direct_init's."""
    return dataclasses.make_dataclass(
        "Record",
        [("account", bytes), ("balance", int), ("role", Role, Role.HOLDER), ("note", str, "")],
        frozen=True,
        slots=True,
    )


Generated = _record()
Direct = direct_init(_record())


def test_it_builds_what_the_generated_init_builds() -> None:
    cases: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((b"a", 5), {}),
        ((b"a", 5, Role.MEMBER), {}),
        ((b"a",), {"balance": -3, "note": "x"}),
        ((), {"note": "y", "balance": 0, "account": b"b", "role": Role.FUND}),
    ]
    for args, kwargs in cases:
        direct, generated = Direct(*args, **kwargs), Generated(*args, **kwargs)
        assert dataclasses.astuple(direct) == dataclasses.astuple(generated)
    assert Direct(b"a", 1) == Direct(b"a", 1)
    assert hash(Direct(b"a", 1)) == hash(Direct(b"a", 1))
    assert Direct(b"a", 1) != Direct(b"a", 2)
    assert dataclasses.replace(Direct(b"a", 1), note="z") == Direct(b"a", 1, Role.HOLDER, "z")


def test_it_stays_frozen_and_checks_its_arguments() -> None:
    direct = Direct(b"a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        direct.balance = 2
    with pytest.raises(TypeError):
        Direct(b"a")
    with pytest.raises(TypeError):
        Direct(b"a", 1, Role.HOLDER, "", 9)
    with pytest.raises(TypeError):
        Direct(b"a", 1, colour="red")
    assert Direct.__init__.__qualname__ == "Record.__init__"


def test_the_hot_path_classes_use_it() -> None:
    holding = Holding(b"k" * 32, "HOUR", 150, 1_000, Role.MEMBER)
    assert (holding.demurrage_index, holding.admission) == (0, 0)
    assert Holding.__init__.__qualname__ == "Holding.__init__"
    assert "_set_balance" in Holding.__init__.__globals__


def _refuse_negative(self: Any) -> None:
    if self.x < 0:
        raise ValueError("negative")


def test_it_refuses_classes_it_would_change() -> None:
    make = dataclasses.make_dataclass
    refused = (
        make("NoSlots", [("x", int)], frozen=True),
        make("NotFrozen", [("x", int)], slots=True),
        make(
            "Validates", [("x", int)], frozen=True, slots=True, namespace={"__post_init__": _refuse_negative}
        ),
        make("Factory", [("x", list[int], field(default_factory=list))], frozen=True, slots=True),
        make("KeywordOnly", [("x", int)], frozen=True, slots=True, kw_only=True),
        int,
    )
    for cls in refused:
        with pytest.raises(TypeError):
            direct_init(cls)
