"""The build options of both commands, as one value (no heavy imports: ``--check`` reads it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildSettings:
    """``--no-build-isolation``, ``-b``, ``-C``, ``--no-build``, ``--no-build-package``,
    and ``--only-binary``/``--no-binary`` as far as they forbid building (as uv reads them:
    ``--only-binary NAME`` is ``--no-build-package NAME``; editables may still be built)."""

    isolation: bool = True
    constraint_files: tuple[str, ...] = ()
    config_settings: tuple[str, ...] = ()  # KEY=VALUE as given
    no_build: bool = False
    no_build_packages: frozenset[str] = frozenset()  # normalised names
    only_binary: frozenset[str] = frozenset()  # normalised names or ":all:"
    no_binary: frozenset[str] = frozenset()  # normalised names or ":all:" (win over only_binary)
