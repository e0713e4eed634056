"""The build options both commands share, spelled as ``uv pip compile``/``uv pip sync`` spell them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from packaging.utils import canonicalize_name

from xv.build.settings import BuildSettings

F = TypeVar("F", bound=Callable[..., Any])
_MULTI = {"multiple": True, "default": ()}

BUILD_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--no-build-isolation",), {"is_flag": True, "help": "Build in the target environment as it is, instead of an isolated one with the build requirements."}),
    (("-b", "--build-constraint", "--build-constraints", "build_constraint"), {**_MULTI, "metavar": "FILE", "help": "Constrain build requirements with this requirements file (repeatable)."}),
    (("-C", "--config-setting", "--config-settings", "config_setting"), {**_MULTI, "metavar": "KEY=VALUE", "help": "Pass this setting to PEP 517 build backends (repeatable)."}),
    (("--no-build-package",), {**_MULTI, "metavar": "NAME", "help": "Never build this package from source (repeatable)."}),
]  # fmt: skip


def build_settings(params: dict[str, Any], no_build: bool) -> BuildSettings:
    """The :class:`BuildSettings` of the parsed command line."""
    return BuildSettings(
        isolation=not params.get("no_build_isolation"),
        constraint_files=tuple(params.get("build_constraint") or ()),
        config_settings=tuple(params.get("config_setting") or ()),
        no_build=no_build,
        no_build_packages=frozenset(
            canonicalize_name(n) for n in params.get("no_build_package") or ()
        ),
    )


def build_option_decorators(func: F) -> F:
    """Apply :data:`BUILD_OPTIONS` to a click command function."""
    for decls, attrs in reversed(BUILD_OPTIONS):
        func = click.option(*decls, **attrs)(func)
    return func
