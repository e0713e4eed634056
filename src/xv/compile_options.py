"""What ``xv-compile`` was asked to do, as frozen values.

The CLI parses the command line, the environment and config files into one
:class:`CompileOptions`; :func:`xv.compile.compile` turns it into a
:class:`~xv.resolver.result.Resolution` and :func:`xv.lockfile.render` turns that into text.
Inputs arrive already parsed (requirement files and pyproject.toml read, errors reported with
``file:line``) so the resolver never reads an input file itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.requirements import Requirement

from xv.index.client import IndexSettings
from xv.lockfile import Pin, RenderOptions
from xv.reqfile import ParsedRequirement
from xv.resolver.result import Parent

PRERELEASE_MODES = ("disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit")
RESOLUTION_MODES = ("highest", "lowest", "lowest-direct")
INDEX_STRATEGIES = ("first-index", "unsafe-first-match", "unsafe-best-match")


@dataclass(frozen=True)
class InputRequirement:
    """One requirement to resolve, with the source ``# via`` names for it.

    ``parent`` is ``None`` for requirements read from stdin, which uv leaves unannotated.
    ``parsed`` keeps everything the requirements-file parser knew (url, editable, hashes, origin).
    """

    parsed: ParsedRequirement
    parent: Parent | None

    @property
    def requirement(self) -> Requirement | None:
        return self.parsed.requirement

    @property
    def name(self) -> str | None:
        return self.parsed.name


@dataclass(frozen=True)
class Inputs:
    """The requirements, constraints and overrides to resolve, read from every input."""

    src_files: tuple[str, ...] = ()
    requirements: tuple[InputRequirement, ...] = ()
    constraints: tuple[InputRequirement, ...] = ()
    overrides: tuple[InputRequirement, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolverSettings:
    """How to choose versions, and for which Python and platform."""

    python_version: str | None = None
    python_platform: str | None = None
    python: str | None = None  # an interpreter (path or version request) to take markers from
    prerelease: str = "if-necessary-or-explicit"
    resolution: str = "highest"
    exclude_newer: str | None = None
    no_deps: bool = False
    only_binary: frozenset[str] = frozenset()  # normalised names or ":all:"
    no_binary: frozenset[str] = frozenset()
    no_build: bool = False
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()  # ``name`` or ``name<spec>``, as given to -P
    # Pins from the existing output file that the resolver should keep when it can
    # (already filtered by --upgrade / --upgrade-package).
    preferences: Mapping[str, Pin] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheSettings:
    cache_dir: str | None = None
    no_cache: bool = False


@dataclass(frozen=True)
class OutputOptions:
    """Where the result goes and what gets printed."""

    output_file: str | None = None
    dry_run: bool = False
    check: bool = False
    quiet: int = 0
    verbose: int = 0
    color: str = "auto"


@dataclass(frozen=True)
class CompileOptions:
    inputs: Inputs = Inputs()
    index: IndexSettings = IndexSettings()
    resolver: ResolverSettings = ResolverSettings()
    cache: CacheSettings = CacheSettings()
    render: RenderOptions = RenderOptions()
    output: OutputOptions = OutputOptions()
