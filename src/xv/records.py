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

The rest is ``@record``'s too, so that dataclasses compiles nothing: it reads the fields (and
their checks), makes the slots, sets the dataclass attributes; ``@record`` compiles one
``__init__`` (the frozen dataclass's: fields set with ``object.__setattr__``, defaults and
factories, ``init=False`` fields, ``__post_init__``), and gives ``__setattr__``/``__delattr__`` as
closures raising :class:`dataclasses.FrozenInstanceError` for the same names with the same
messages, and a slotted class the state a frozen slotted dataclass pickles. The class is then
marked frozen (``__dataclass_params__``): a dataclass subclass must be frozen, as before. A
subclass of a frozen dataclass is made by dataclasses as before (its checks need ``frozen``).
Each compiled function costs ~0.2 ms: a cold compile of two requirements makes 35 records
before it answers, in 22-26 ms of CPU where they took 34-38 ms with three compiled each.

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
    return _make(cls, slots=False)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def slotted_record(cls: type[_T], /) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, made cheaper."""
    return _make(cls, slots=True)


def _make(cls: type[_T], slots: bool) -> type[_T]:
    frozen_base = any(
        getattr(getattr(base, "__dataclass_params__", None), "frozen", False)
        for base in cls.__mro__[1:]
    )
    if frozen_base:
        made = dataclasses.dataclass(frozen=True, repr=False, eq=False, slots=slots)(cls)
    else:
        made = dataclasses.dataclass(init=False, repr=False, eq=False, slots=slots)(cls)
        _freeze(made, slots)
    _add_methods(made)
    return made


_MISSING = dataclasses.MISSING
_FACTORY = object()  # a parameter whose default factory is to be called


def _init(cls: type[Any], slots: bool) -> Callable[..., None]:
    """The ``__init__`` of ``dataclass(frozen=True)`` for ``cls``'s fields, compiled once."""
    scope: dict[str, Any] = {"__set": object.__setattr__, "__FACTORY": _FACTORY}
    params: list[str] = []
    lines: list[str] = []
    for f in dataclasses.fields(cls):
        name, default = f.name, f"__default_{f.name}"
        if f.default_factory is not _MISSING:
            scope[default] = f.default_factory
            if f.init:
                params.append(f"{name}=__FACTORY")
                value = f"{default}() if {name} is __FACTORY else {name}"
            else:
                value = f"{default}()"
        elif f.init:
            if f.default is not _MISSING:
                scope[default] = f.default
                params.append(f"{name}={default}")
            else:
                params.append(name)
            value = name
        elif slots and f.default is not _MISSING:
            scope[default] = f.default
            value = default
        else:
            continue  # read from the class attribute
        lines.append(f"__set(__dataclass_self__, {name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        lines.append("__dataclass_self__.__post_init__()")
    source = f"def __init__(__dataclass_self__, {', '.join(params)}):\n " + "\n ".join(
        lines or ["pass"]
    )
    exec(source, scope)  # noqa: S102 (our own text, as dataclasses generates it)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _freeze(cls: type[Any], slots: bool) -> None:
    """``__init__`` and what ``frozen=True`` adds, without dataclasses' generated source
    (module docstring)."""
    order = tuple(f.name for f in dataclasses.fields(cls))
    names = frozenset(order)
    frozen_error = dataclasses.FrozenInstanceError

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise frozen_error(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise frozen_error(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for name in ("__setattr__", "__delattr__"):
        if name in cls.__dict__:  # as dataclasses refuses it
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    methods: list[Callable[..., Any]] = [__setattr__, __delattr__]
    if "__init__" not in cls.__dict__:
        methods.append(_init(cls, slots))
    if slots:  # pickled as a frozen slotted dataclass is: its fields' values, set directly

        def __getstate__(self: Any) -> list[Any]:
            return [getattr(self, name) for name in order]

        def __setstate__(self: Any, state: list[Any]) -> None:
            for name, value in zip(order, state, strict=False):
                object.__setattr__(self, name, value)

        methods += [__getstate__, __setstate__]
    for method in methods:
        if method.__name__ != "__init__":
            method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    cls.__dataclass_params__.frozen = True


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
