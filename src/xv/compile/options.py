"""What ``xv-compile`` was asked to do, as frozen values.

The CLI parses the command line, the environment and config files into one
:class:`CompileOptions`; :func:`xv.compile.compile` turns it into a
:class:`~xv.resolver.result.Resolution` and :func:`xv.lockfile.render` turns that into text.
Inputs arrive already parsed (requirement files and pyproject.toml read, errors reported with
``file:line``) so the resolver never reads an input file itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xv import lockfile, reqfile
from xv.build.settings import BuildSettings
from xv.errors import UsageError
from xv.index.settings import IndexSettings
from xv.lockfile import Pin, RenderOptions
from xv.names import canonicalize_name
from xv.records import record
from xv.reqfile import FileOptions, Origin, ParsedRequirement, RequirementsFile, merge_file_options
from xv.settings import Color, Prerelease, Resolution

# The parsers (pyproject.toml, requirements) and the resolver's types load when inputs are
# read: the option types and defaults here are imported by every command line.
if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from xv import pyproject
    from xv.resolver.result import Parent

# The option holders below are frozen values read field by field, never compared, hashed or
# printed whole: made with eq=False, repr=False, their classes cost a third less to make at
# every start-up (3.4 of 10.3 ms of CPU for this module, A/B of the decorator's flags).


@record
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


@dataclass(frozen=True, eq=False, repr=False)
class Inputs:
    """The requirements, constraints and overrides to resolve, read from every input."""

    src_files: tuple[str, ...] = ()
    requirements: tuple[InputRequirement, ...] = ()
    constraints: tuple[InputRequirement, ...] = ()
    overrides: tuple[InputRequirement, ...] = ()
    # setup.py, setup.cfg, a pyproject.toml with dynamic dependencies, or a directory: projects
    # whose dependencies come from their built metadata.
    build_projects: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class ResolverSettings:
    """How to choose versions, and for which Python and platform."""

    python_version: str | None = None
    python_platform: str | None = None
    python: str | None = None  # an interpreter (path or version request) to take markers from
    universal: bool = False  # one lock for every platform and Python from the floor up
    prerelease: Prerelease = "if-necessary-or-explicit"
    resolution: Resolution = "highest"
    exclude_newer: str | None = None
    no_deps: bool = False
    only_binary: frozenset[str] = frozenset()  # normalised names or ":all:"
    no_binary: frozenset[str] = frozenset()
    no_build: bool = False
    build: BuildSettings = BuildSettings()
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()  # ``name`` or ``name<spec>``, as given to -P
    # Pins from the existing output file that the resolver should keep when it can
    # (already filtered by --upgrade / --upgrade-package).
    preferences: Mapping[str, Pin] = field(default_factory=dict)


@dataclass(frozen=True, eq=False, repr=False)
class CacheSettings:
    """Where the cache lives, and whether to use it."""

    cache_dir: str | None = None
    no_cache: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class OutputOptions:
    """Where the result goes and what gets printed."""

    output_file: str | None = None
    dry_run: bool = False
    check: bool = False
    quiet: int = 0
    verbose: int = 0
    color: Color = "auto"


@dataclass(frozen=True, eq=False, repr=False)
class CompileOptions:
    """Everything one ``xv-compile`` run was asked to do."""

    inputs: Inputs = Inputs()
    index: IndexSettings = IndexSettings()
    resolver: ResolverSettings = ResolverSettings()
    cache: CacheSettings = CacheSettings()
    render: RenderOptions = RenderOptions()
    output: OutputOptions = OutputOptions()


# -- reading the inputs --------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class InputRequest:
    """The input files as the command line names them."""

    src_files: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()  # ``NAME`` or ``PATH:NAME``


def load_inputs(
    request: InputRequest, stdin: Callable[[], str], environ: Mapping[str, str] | None = None
) -> tuple[Inputs, FileOptions]:
    """Read every input file; return the requirements and the merged requirement-file options.

    ``-`` reads requirements from ``stdin()``. pyproject.toml inputs contribute their
    dependencies, the requested extras and groups. Errors name ``file:line``.
    """
    if not request.src_files and not request.groups:
        raise UsageError("no input files given (name a requirements file or pyproject.toml)")
    projects = [src for src in request.src_files if _is_pyproject(src)]
    buildable = [src for src in request.src_files if _needs_build(src)]
    if (request.extras or request.all_extras) and not (projects or buildable):
        raise UsageError("requesting extras requires a pyproject.toml input")
    reqs: list[InputRequirement] = []
    constraints: list[InputRequirement] = []
    files: list[RequirementsFile] = []
    build_projects: list[str] = []
    for src in request.src_files:
        if _needs_build(src):
            build_projects.append(src)
        elif _is_pyproject(src):
            from xv import pyproject  # here: requirement files alone never need tomllib

            found = pyproject.requirements(
                src, extras=request.extras, all_extras=request.all_extras
            )
            reqs += [_from_project(item) for item in found]
        else:
            parsed = _parse_requirements(src, stdin, environ)
            files.append(parsed)
            reqs += [_input(item, "requirement", src == "-") for item in parsed.requirements]
            constraints += [_input(item, "constraint", src == "-") for item in parsed.constraints]
    reqs += _group_requirements(request.groups, projects)
    for path in request.constraints:
        parsed = reqfile.parse_file(path, constraint=True, environ=environ)
        files.append(parsed)
        items = (*parsed.requirements, *parsed.constraints)
        constraints += [_input(item, "constraint") for item in items]
    overrides: list[InputRequirement] = []
    for path in request.overrides:
        parsed = reqfile.parse_file(path, environ=environ)
        files.append(parsed)
        overrides += [_input(item, "override") for item in parsed.requirements]
    inputs = Inputs(
        src_files=request.src_files,
        requirements=tuple(reqs),
        constraints=tuple(constraints),
        overrides=tuple(overrides),
        build_projects=tuple(build_projects),
        extras=request.extras,
        all_extras=request.all_extras,
        groups=request.groups,
    )
    return inputs, merge_file_options(f.options for f in files)


def _needs_build(src: str) -> bool:
    """Inputs whose requirements only a build can tell (as uv and pip-compile accept them)."""
    if os.path.basename(src) in ("setup.py", "setup.cfg") or os.path.isdir(src):
        return True
    if not _is_pyproject(src):
        return False
    from xv import pyproject

    return pyproject.has_dynamic_dependencies(src)


def _is_pyproject(src: str) -> bool:
    return os.path.basename(src) == "pyproject.toml"


def _parse_requirements(
    src: str, stdin: Callable[[], str], environ: Mapping[str, str] | None
) -> RequirementsFile:
    if src == "-":
        return reqfile.parse_text(stdin(), "-", environ=environ)
    return reqfile.parse_file(src, environ=environ)


def _input(item: ParsedRequirement, kind: str, from_stdin: bool = False) -> InputRequirement:
    from xv.resolver.result import Parent

    # uv annotates nothing for stdin; requirements from `-r`/`-c` includes name their own file.
    parent = None if from_stdin and item.origin.file == "-" else Parent(kind, item.origin.file)
    return InputRequirement(item, parent)


def _from_project(item: pyproject.ProjectRequirement) -> InputRequirement:
    from xv.resolver.result import Parent

    req = item.requirement
    parsed = ParsedRequirement(
        requirement=req,
        name=canonicalize_name(req.name),
        url=req.url,
        editable=False,
        hashes=(),
        constraint=False,
        origin=Origin(item.file, item.line),
        text=str(req),
        spec=str(req),
        extras=frozenset(req.extras),
        marker=req.marker,
    )
    return InputRequirement(parsed, Parent("project", item.source))


def _group_requirements(groups: Sequence[str], projects: Sequence[str]) -> list[InputRequirement]:
    """``--group NAME`` applies to every pyproject.toml input (./pyproject.toml if there is
    none); ``--group PATH:NAME`` to that file."""
    if not groups:
        return []
    from xv import pyproject

    found: list[InputRequirement] = []
    for spec in groups:
        path, sep, name = spec.rpartition(":")
        targets = [path] if sep and path else (list(projects) or ["pyproject.toml"])
        for target in targets:
            doc = pyproject.load(target)
            found += [_from_project(i) for i in pyproject.group_dependencies(doc, name or spec)]
    return found


def preferences_from(
    output_file: str | None, upgrade: bool, upgrade_packages: Sequence[str]
) -> dict[str, Pin]:
    """Pins of an existing output file to keep, minus what ``-U``/``-P`` release.

    A missing file gives none; an unreadable one is an error naming it.
    """
    if output_file is None or upgrade or not os.path.isfile(output_file):
        return {}
    pins = lockfile.parse(Path(output_file), strict=False)
    for spec in upgrade_packages:
        pins.pop(_upgrade_name(spec), None)
    return pins


def _upgrade_name(spec: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return canonicalize_name(Requirement(spec).name)
    except InvalidRequirement:
        raise UsageError(f"invalid --upgrade-package {spec!r}") from None
