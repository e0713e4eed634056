"""The build options of both commands, as one value (no heavy imports: ``--check`` reads it)."""

from __future__ import annotations

from xv.names import canonicalize_name
from xv.records import record
from xv.settings import Settings


@record
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


def build_settings(s: Settings) -> BuildSettings:
    """The :class:`BuildSettings` of the merged settings."""
    return BuildSettings(
        isolation=not s.no_build_isolation,
        constraint_files=s.build_constraint,
        config_settings=s.config_setting,
        no_build=bool(s.no_build),
        no_build_packages=frozenset(canonicalize_name(n) for n in s.no_build_package),
    )
