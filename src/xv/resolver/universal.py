"""The provider of a universal resolution: markers carried, not evaluated.

A universal resolution is for every environment whose Python is at least a lower
bound. Within one *fork* (a marker environment, at first ``python_full_version >=
lower``) a requirement applies when its marker can hold there, and the edge keeps
that marker, so that each pin's marker is, at the end, the union over the paths
from the root of the conjunction of the markers along them.

A fork splits, as uv's does, when one package's dependencies name another package
several times under different markers (``numpy>=2; python_version >= "3.10"`` and
``numpy<2; python_version < "3.10"``), when a marker on a dependency raises the
fork's Python lower bound, and when the chosen version's ``Requires-Python``
leaves out the lower part of the fork's Python range. Where uv clones the solver's
state at that point, this provider raises :class:`ForkNeeded`; the driver
(:mod:`xv.resolver.forks`) solves each part from the start, preferring the
versions decided so far, and forks already solved are preferences of the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.env.target import Target
from xv.index.metadata import CoreMetadata
from xv.index.simple import ProjectPage
from xv.resolver.candidates import Candidate, map_candidates
from xv.resolver.marker_algebra import release_range
from xv.resolver.markers import FALSE, TRUE, MarkerTree
from xv.resolver.provider import (
    ROOT,
    MetadataSource,
    PyPackage,
    PythonProvider,
    ResolverInputs,
    ResolverSettings,
    parse_requirement,
)
from xv.resolver.pubgrub import Range, Unavailable

Edges = dict[PyPackage, MarkerTree]


class ForkNeeded(Exception):  # noqa: N818 (a signal to the driver, not an error)
    """The fork must be split into ``forks`` (disjoint, solved last first)."""

    def __init__(self, forks: Sequence[MarkerTree], decided: Mapping[str, Version]) -> None:
        super().__init__("fork")
        self.forks = list(forks)
        self.decided = dict(decided)


class AnyPlatform(Target):
    """A target that every file fits: which files suit which environment is left to the
    installer (a universal lock lists them all)."""

    def wheel_priority(self, filename: str) -> int | None:
        return 0 if filename.endswith(".whl") else None

    def allows_requires_python(self, requires_python: str | None) -> bool:
        return True


def any_platform() -> AnyPlatform:
    return AnyPlatform({}, {})


@lru_cache(maxsize=65536)
def marker_tree(text: str | None) -> MarkerTree:
    return MarkerTree.parse(text)


def _tree_of(marker: Marker | None) -> MarkerTree:
    return TRUE if marker is None else marker_tree(str(marker))


@lru_cache(maxsize=4096)
def requires_python_tree(text: str) -> MarkerTree:
    """The Pythons a ``Requires-Python`` admits by its lower bounds (uv ignores upper ones)."""
    rng: Range[tuple[int, ...]] = Range.full()
    try:
        specs = SpecifierSet(text)
    except InvalidSpecifier:
        return TRUE
    for spec in specs:
        if spec.operator in ("<", "<=", "!="):
            continue
        part = release_range(spec.operator, spec.version)
        if part is not None:
            lower = part.segments[0] if not part.is_empty() else None
            if lower is not None and lower.lower is not None:
                rng = rng.intersection(
                    Range.from_bounds(lower.lower, lower.lower_inclusive, None, False)
                )
    return MarkerTree.python_range(rng)


def python_lower(env: MarkerTree) -> tuple[int, ...]:
    """The lowest Python a fork allows (``(0,)`` when unbounded)."""
    segs = env.only_python().segments
    return segs[0].lower if segs and segs[0].lower is not None else (0,)


@dataclass
class SharedState:
    """What one fork's provider learnt that the next can reuse (pages, metadata)."""

    pages: dict[str, ProjectPage | None]
    cands: dict[str, Sequence[Candidate]]
    meta: dict[str, CoreMetadata | Unavailable]


class UniversalProvider(PythonProvider):
    """The Python provider for one fork of a universal resolution."""

    ranges_repeat = False  # see PythonProvider: _to_ranges depends on the fork, and records

    def __init__(
        self,
        inputs: ResolverInputs,
        settings: ResolverSettings,
        source: MetadataSource,
        env: MarkerTree,
        python_marker: MarkerTree,
        preferred: Mapping[str, Sequence[Version]] | None = None,
        shared: SharedState | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.env = env
        self.python_marker = python_marker  # the whole resolution's Python range
        self.edges: dict[tuple[PyPackage, Version], Edges] = {}
        self.decided: dict[str, Version] = {}
        self._asking: tuple[PyPackage, Version] | None = None
        self._mine = False  # computing the dependencies the solver asked for (not a prefetch)
        self._preferred = preferred or {}
        self._fork_cands: dict[str, Sequence[Candidate]] = {}
        super().__init__(inputs, settings, any_platform(), source, progress)
        if shared is not None:
            self._pages, self._cands, self._meta = shared.pages, shared.cands, shared.meta

    def shared(self) -> SharedState:
        return SharedState(self._pages, self._cands, self._meta)

    # -- markers ---------------------------------------------------------------

    def marker_applies(self, req: Requirement) -> bool:
        """Whether an input holds in every environment of the fork (inputs that hold in
        only part of it are what forks split on, not conflicts)."""
        return self.env.implies(_tree_of(req.marker).with_extras([]))

    def _marker_ok(self, marker: Marker | None, extra: str | None) -> bool:
        tree = _tree_of(marker).with_extras([extra] if extra else [])
        return not tree.is_disjoint(self.env)

    def edge_marker(self, marker: Marker | None, extra: str | None) -> MarkerTree | None:
        """The marker under which a requirement applies in this fork (None: never).
        For an extra, only what its own marker selects (the project itself adds the rest)."""
        tree = _tree_of(marker)
        if extra is None:
            base = tree.with_extras([])
            return None if base.is_disjoint(self.env) else base
        with_extra = tree.with_extras([extra])
        if with_extra.is_disjoint(self.env) or not tree.with_extras([]).is_disjoint(self.env):
            return None
        return with_extra

    # -- versions --------------------------------------------------------------

    def candidates(self, name: str) -> Sequence[Candidate]:
        """The project's versions as this fork sees them: one whose files' Requires-Python
        admits none of the fork's Pythons is excluded without reading its metadata."""
        found = self._fork_cands.get(name)
        if found is None:
            found = map_candidates(super().candidates(name), self._for_fork)
            self._fork_cands[name] = found
        return found

    def _for_fork(self, cand: Candidate) -> Candidate:
        meta = cand.metadata_file
        text = meta.requires_python if meta is not None else None
        if cand.excluded is None and text and requires_python_tree(text).is_disjoint(self.env):
            return dataclasses.replace(cand, excluded=f"requires Python {text}")
        return cand

    def choose_version(
        self, package: PyPackage, rng: Range[Version]
    ) -> Version | Unavailable | None:
        """A version decided before the fork split, or chosen by a fork solved earlier,
        comes first when it is in range (uv's fork preferences). A choice whose
        Requires-Python leaves out the lower part of the fork's Pythons splits the fork
        there (uv's ``fork_version_by_python_requirement``)."""
        chosen: Version | Unavailable | None = self._preferred_version(package, rng)
        if chosen is None:
            chosen = super().choose_version(package, rng)
        passed_over = (package.name, chosen) in self._unusable
        if (
            isinstance(chosen, Version)
            and package != ROOT
            and package.extra is None
            and not passed_over
        ):
            cand = self.candidate(package.name, chosen)
            text = cand.metadata_file.requires_python if cand and cand.metadata_file else None
            allowed = requires_python_tree(text) if text else TRUE
            if not self.env.implies(allowed):
                raise ForkNeeded(
                    self._sorted([self.env & ~allowed, self.env & allowed]), self.decided
                )
        return chosen

    def _preferred_version(self, package: PyPackage, rng: Range[Version]) -> Version | None:
        if package == ROOT or not self.exists(package.name):
            return None
        for version in self._preferred.get(package.name, ()):
            if rng.contains(version):
                cand = self.selector(package.name).select(Range.singleton(version))
                if cand is not None:
                    return cand.version
        return None

    # -- dependencies ----------------------------------------------------------

    def get_dependencies(
        self, package: PyPackage, version: Version
    ) -> Mapping[PyPackage, Range[Version]] | Unavailable:
        self._asking = (package, version)
        try:
            deps = super().get_dependencies(package, version)
        except ForkNeeded as fork:
            if package.extra is None and package != ROOT:
                fork.decided[package.name] = version  # uv forks after deciding it
            raise
        finally:
            self._asking = None
        if not isinstance(deps, Unavailable) and package.extra is None:
            self.decided[package.name] = version
        return deps

    def package_dependencies(
        self, package: PyPackage, version: Version, meta: CoreMetadata
    ) -> dict[PyPackage, Range[Version]] | Unavailable:
        requires_python = meta.requires_python
        if requires_python:
            allowed = requires_python_tree(requires_python)
            if allowed.is_disjoint(self.env):
                return Unavailable(f"requires Python {requires_python}")
            if self._asking == (package, version) and not self.env.implies(allowed):
                raise ForkNeeded(
                    self._sorted([self.env & ~allowed, self.env & allowed]), self.decided
                )
        mine = self._asking == (package, version)
        self._mine = mine
        try:
            deps = super().package_dependencies(package, version, meta)
        finally:
            self._mine = False
        if package.extra is not None and mine:
            self.edges.setdefault((package, version), {})[PyPackage(package.name)] = TRUE
        return deps

    def _to_ranges(
        self, reqs: Iterable[Requirement], extra: str | None, own: str | None
    ) -> dict[PyPackage, Range[Version]]:
        kept: list[tuple[str, Requirement, MarkerTree]] = []
        for req in reqs:
            marker = self.edge_marker(req.marker, extra)
            if marker is None:
                continue
            name = str(canonicalize_name(req.name))
            for r in self._overrides.get(name, [req]) if own != name else [req]:
                kept.append((name, r, marker))
        record = own is None or self._mine  # the root's, or the asked version's
        if record:
            self._fork_if_needed(kept)
        deps: dict[PyPackage, Range[Version]] = {}
        edges: Edges = {}
        for dep_name, req, marker in kept:
            self._add_requirement(deps, dep_name, req)
            for pkg in (
                PyPackage(dep_name),
                *(PyPackage(dep_name, canonicalize_name(e)) for e in req.extras),
            ):
                edges[pkg] = edges.get(pkg, FALSE) | marker
        if record:
            key = self._asking if own is not None and self._asking else (ROOT, Version("0"))
            self.edges.setdefault(key, {}).update(edges)
        return deps

    # -- forking ---------------------------------------------------------------

    def _fork_if_needed(self, kept: Sequence[tuple[str, Requirement, MarkerTree]]) -> None:
        """uv's ``ForkedDependencies::fork``: split the fork where one name is required
        under markers that differ, or where a marker raises the Python lower bound."""
        by_name: dict[str, list[tuple[Requirement, MarkerTree]]] = {}
        for name, req, marker in kept:
            by_name.setdefault(name, []).append((req, marker))
        forks = [self.env]
        for name in sorted(by_name):
            deps = by_name[name]
            first = deps[0][1]
            if all(m == first for _, m in deps) and not self._raises_python(first):
                continue
            for _, marker in deps:
                if marker.is_disjoint(self.env) or self.env.implies(marker):
                    continue
                forks = self._split(forks, marker)
        if len(forks) > 1:
            uppers = {id(f): self._upper_bounds(f, kept) for f in forks}
            raise ForkNeeded(self._sorted(forks, uppers), self.decided)

    def _split(self, forks: list[MarkerTree], marker: MarkerTree) -> list[MarkerTree]:
        out: list[MarkerTree] = []
        for fork in forks:
            if fork.is_disjoint(marker):
                out.append(fork)
                continue
            parts = [] if fork.is_disjoint(~marker) else [fork & ~marker]
            parts.append(fork & marker)
            marker = marker & ~fork
            out.extend(p for p in parts if not p.is_disjoint(self.python_marker))
        return out

    def _raises_python(self, marker: MarkerTree) -> bool:
        return python_lower(marker & self.env) > python_lower(self.env)

    @staticmethod
    def _upper_bounds(fork: MarkerTree, kept: Sequence[tuple[str, Requirement, MarkerTree]]) -> int:
        """How many of the fork's dependencies have an upper version bound."""
        count = 0
        for _, req, marker in kept:
            if not marker.is_disjoint(fork):
                segs = _spec_range(str(req.specifier)).segments
                count += bool(segs) and segs[-1].upper is not None
        return count

    @staticmethod
    def _sorted(
        forks: list[MarkerTree], uppers: Mapping[int, int] | None = None
    ) -> list[MarkerTree]:
        """uv's order for the default fork strategy: by Python lower bound, then by
        the count of upper-bounded dependencies; the last is solved first."""
        return sorted(forks, key=lambda f: (python_lower(f), (uppers or {}).get(id(f), 0)))


@lru_cache(maxsize=16384)
def _spec_range(text: str) -> Range[Version]:
    from xv.resolver.specifiers import specifier_to_range

    return specifier_to_range(text)


def requirement_marker(text: str) -> MarkerTree:
    """The marker of one requirement line (``TRUE`` when it has none)."""
    return _tree_of(parse_requirement(text).marker)
