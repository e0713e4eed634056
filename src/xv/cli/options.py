"""Click options derived from the settings registry (:mod:`xv.settings`), so both commands
spell and document a setting alike, and one typed :class:`~xv.settings.Settings` comes back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar

import click

from xv import settings
from xv.dirs import user_cache_dir
from xv.settings import DEFAULT_INDEX_URL, Command, Entry, Value

F = TypeVar("F", bound=Callable[..., Any])


def _help(entry: Entry, command: Command) -> str:
    text = entry.help_for(command)
    if "{" not in text:
        return text
    return text.format(default_index=DEFAULT_INDEX_URL, cache_dir=user_cache_dir())


class _Attrs(TypedDict, total=False):
    """The keyword arguments of ``click.option`` that the registry sets (unset: click's own)."""

    hidden: bool
    help: str
    metavar: str
    multiple: bool
    default: Value
    count: bool
    is_flag: bool
    type: click.Choice[str] | click.Path | type[int]


def click_option(entry: Entry, command: Command) -> Callable[[F], F]:
    """The ``click.option`` of one registry entry, as ``command`` spells it."""
    attrs: _Attrs = {"hidden": entry.spec.hidden}
    if entry.spec.help and not entry.spec.hidden:
        attrs["help"] = _help(entry, command)
    metavar = entry.metavar_for(command)
    if metavar:
        attrs["metavar"] = metavar
    if entry.spec.directory:
        attrs["type"] = click.Path(file_okay=False)
    if entry.kind == "list":
        attrs["multiple"], attrs["default"] = True, ()
    elif entry.spec.count:
        attrs["count"] = True
    elif entry.kind == "bool":
        attrs["default"] = entry.default
        if "/" not in entry.flags_for(command)[0]:
            attrs["is_flag"] = True
    elif entry.kind == "choice":
        attrs["type"], attrs["default"] = click.Choice(entry.choices), entry.default
    elif entry.kind == "int":
        attrs["type"] = int
    return click.option(*entry.flags_for(command), entry.name, **attrs)


def command_options(command: Command, names: Sequence[str] = ()) -> Callable[[F], F]:
    """Every option of ``command`` in the order ``--help`` lists them, or those ``names``."""
    chosen = list(map(settings.entry, names) if names else settings.command_entries(command))

    def decorate(func: F) -> F:
        for entry in reversed(chosen):
            func = click_option(entry, command)(func)
        return func

    return decorate


def typed(params: Mapping[str, Any]) -> settings.Settings:
    """Click's parameters as typed settings (click returns lists of repeated options as
    tuples already; settings a command lacks keep their defaults)."""
    return settings.from_values(params)
