"""``@record`` behaves as ``@dataclass(frozen=True)`` on the same class body."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xv.records import record, slotted_record


def _classes(decorate: Callable[[type[Any]], type[Any]]) -> dict[str, type[Any]]:
    """The same class bodies under ``decorate``: plain, field options, slots, inheritance,
    an own __eq__ and an own __repr__."""

    class Plain:
        a: int
        b: str = "x"
        c: tuple[int, ...] = ()

    class Options:
        a: int
        hidden: int = field(default=0, repr=False)
        ignored: int = field(default=0, compare=False)
        unhashed: list[int] = field(default_factory=list, hash=False)
        hashed_only: int = field(default=0, compare=False, hash=True)

    class Empty:
        pass

    class Child(Plain):
        d: float = 0.0

    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return True

    class OwnRepr:
        a: int

        def __repr__(self) -> str:
            return "mine"

    class Late:
        a: int
        seen: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    class Checked:
        a: int
        b: int = 0

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    made = {k: decorate(v) for k, v in locals().items() if isinstance(v, type) and k != "decorate"}
    made["Child"] = decorate(
        type("Child", (made["Plain"],), {"__annotations__": {"d": float}, "d": 0.0})
    )
    return made


def _slotted(cls: type[Any]) -> type[Any]:
    return dataclass(frozen=True, slots=True)(cls)


THEIRS = _classes(dataclass(frozen=True))
MINE = _classes(record)
THEIRS_SLOTS = _classes(_slotted)
MINE_SLOTS = _classes(slotted_record)
ARGS: dict[str, list[tuple[Any, ...]]] = {
    "Plain": [(1,), (1, "y"), (2, "x", (1, 2)), (1, "x", ())],
    "Options": [(1,), (1, 5), (1, 0, 7), (1, 0, 0, [1]), (1, 0, 0, [], 3), (2, 5, 7, [1], 3)],
    "Empty": [()],
    "Child": [(1,), (1, "y", (), 2.5), (1, "x", (), 0.0)],
    "OwnEq": [(1,), (2,)],
    "OwnRepr": [(1,), (2,)],
    "Late": [(1,), (2,)],
    "Checked": [(1,), (2, 3)],
}


def _hash(obj: Any) -> int | str:
    try:
        return hash(obj)
    except TypeError as exc:
        return str(exc)


@pytest.mark.parametrize("slots", [False, True])
@pytest.mark.parametrize("name", sorted(ARGS))
def test_repr_eq_and_hash_are_the_dataclass_ones(name: str, slots: bool) -> None:
    theirs, mine = (THEIRS_SLOTS, MINE_SLOTS) if slots else (THEIRS, MINE)
    for args in ARGS[name]:
        for other in ARGS[name]:
            t, m = theirs[name](*args), mine[name](*args)
            t2, m2 = theirs[name](*other), mine[name](*other)
            assert repr(m) == repr(t).replace(theirs[name].__qualname__, mine[name].__qualname__)
            assert (m == m2) == (t == t2) and (m != m2) == (t != t2)
            assert (_hash(m) == _hash(m2)) == (_hash(t) == _hash(t2))
            assert type(_hash(m)) is type(_hash(t))
        if name != "OwnEq":  # its own __eq__ says True to anything
            assert (mine[name](*args) == theirs[name](*args)) is False  # another class
            assert (mine[name](*args) == object()) is False


@given(st.integers(), st.text(), st.lists(st.integers()).map(tuple))
def test_the_same_on_any_values(a: int, b: str, c: tuple[int, ...]) -> None:
    t, m = THEIRS["Plain"](a, b, c), MINE["Plain"](a, b, c)
    assert repr(m) == repr(t) and hash(m) == hash(t) and m == MINE["Plain"](a, b, c)


def test_frozen_fields_replace_and_pickle_as_a_dataclass() -> None:
    m = MINE["Plain"](1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del m.b
    assert [f.name for f in dataclasses.fields(m)] == ["a", "b", "c"]
    assert dataclasses.replace(m, b="z") == MINE["Plain"](1, "z")
    assert dataclasses.asdict(m) == {"a": 1, "b": "x", "c": ()}
    with pytest.raises(TypeError):
        MINE["Plain"]()  # the dataclass __init__: a is required


def test_a_recursive_repr_is_cut_as_dataclass_cuts_it() -> None:
    box = MINE["Plain"](1, "x", ())
    object.__setattr__(box, "c", (box,))
    assert repr(box).endswith("(a=1, b='x', c=(...,))")


@record
class Point:
    """Module level, for pickling and for the type checker."""

    x: int
    y: int = 0


@slotted_record
class Slotted:
    x: int


def test_typed_use_pickles_and_replaces() -> None:
    p = dataclasses.replace(Point(1), y=2)
    assert pickle.loads(pickle.dumps(p)) == Point(1, 2)
    assert pickle.loads(pickle.dumps(Slotted(3))) == Slotted(3)
    assert not hasattr(Slotted(3), "__dict__")


@pytest.mark.parametrize("slots", [False, True])
def test_init_post_init_and_frozen_errors_are_the_dataclass_ones(slots: bool) -> None:
    theirs, mine = (THEIRS_SLOTS, MINE_SLOTS) if slots else (THEIRS, MINE)
    for made in (theirs, mine):
        with pytest.raises(ValueError, match="negative"):
            made["Checked"](-1)
        first, second = made["Late"](1), made["Late"](1)
        assert first.seen == {} and first.seen is not second.seen
    errors = []
    for obj in (theirs["Plain"](1), mine["Plain"](1)):
        with pytest.raises(dataclasses.FrozenInstanceError) as info:
            obj.a = 2
        errors.append(str(info.value))
        with pytest.raises(dataclasses.FrozenInstanceError) as info:
            del obj.b
        errors.append(str(info.value))
    assert errors[:2] == errors[2:] == ["cannot assign to field 'a'", "cannot delete field 'b'"]


def test_subclasses_on_either_side_stay_frozen() -> None:
    child: Any = dataclass(frozen=True)(
        type("Sub", (Point,), {"__annotations__": {"z": int}, "z": 0})
    )
    assert child(1, 2, 3).z == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        child(1).z = 1
    grandchild: Any = record(type("Grand", (child,), {"__annotations__": {"w": int}, "w": 0}))
    assert repr(grandchild(1, w=4)) == "Grand(x=1, y=0, z=0, w=4)"
    with pytest.raises(TypeError, match="non-frozen"):
        dataclass(type("Thawed", (Point,), {}))
