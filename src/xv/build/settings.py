"""The build options of both commands, as one value (no heavy imports: ``--check`` reads it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildSettings:
    """``--no-build-isolation``, ``-b``, ``-C``, ``--no-build``, ``--no-build-package``."""

    isolation: bool = True
    constraint_files: tuple[str, ...] = ()
    config_settings: tuple[str, ...] = ()  # KEY=VALUE as given
    no_build: bool = False
    no_build_packages: frozenset[str] = frozenset()  # normalised names
