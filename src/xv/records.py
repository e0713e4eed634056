"""``@record`` and ``@slotted_record``: frozen dataclasses that cost a third less to create.

:func:`dataclasses.dataclass` compiles six functions for each frozen class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), each from
generated source: ~1.3 ms a class on this machine, and a warm compile creates about a
hundred such classes before it answers (a quarter of its time), a sync into a fresh
environment about fifty. ``@record`` lets the dataclass machinery make the class frozen
(``__init__``, ``__setattr__``, ``__delattr__``: the field checks, defaults and immutability
are its own) and gives it ``__repr__``, ``__eq__`` and ``__hash__`` as closures over the
field names, with the generated methods' exact behaviour:

- ``__eq__``: ``NotImplemented`` unless ``other.__class__ is self.__class__``, else the
  tuples of the compared fields (``field(compare=False)`` left out) are compared;
- ``__hash__``: the hash of the tuple of the fields that ``field(hash=...)``/``compare``
  select, as a frozen dataclass with ``eq`` hashes;
- ``__repr__``: ``Name(a=1, b='x')`` by qualified name, ``field(repr=False)`` left out, and
  ``...`` for an instance already being shown (``reprlib.recursive_repr``, as dataclasses).

tests/unit/test_records.py compares them with ``dataclass(frozen=True)``'s on the same
classes. Type checkers see a frozen dataclass (PEP 681; two decorators rather than one with
an optional ``slots``: mypy loses an overloaded transform from its cache).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T], /) -> type[_T]:
    """``@dataclass(frozen=True)``, made cheaper."""
    made = dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)
    _add_methods(made)
    return made


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def slotted_record(cls: type[_T], /) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, made cheaper."""
    made = dataclasses.dataclass(frozen=True, repr=False, eq=False, slots=True)(cls)
    _add_methods(made)
    return made


def _add_methods(cls: type[Any]) -> None:
    fields = dataclasses.fields(cls)
    shown = tuple(f.name for f in fields if f.repr)
    compared = _getter(tuple(f.name for f in fields if f.compare))
    hashed = _getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in shown])
        return f"{self.__class__.__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(compared(self) == compared(other))
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    own = cls.__dict__
    # A class body that defines __eq__ gets __hash__ = None from Python: not its own choice
    # (dataclass then adds its hash all the same).
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    for method in (__repr__, __eq__, __hash__):
        name = method.__name__
        if name in own and (name != "__hash__" or explicit_hash):
            continue  # the class's own, as dataclass keeps it
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of these attributes (operator.attrgetter, which gives a bare value for one
    name and needs at least one)."""
    if not names:
        return lambda obj: ()
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (get(obj),)
    return get
