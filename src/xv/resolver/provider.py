"""The Python side of resolution: packages, candidates, dependencies, policies.

The generic PubGrub solver asks this provider three questions (which package to
decide next, which version of it, and what that version depends on); everything
about Python packaging lives here: extras as virtual packages, markers, the
pre-release policy, constraints and overrides, preferred pins, and prefetching of
metadata in batches so the solver rarely waits on one request at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.index.simple import ProjectPage
from xv.resolver.candidates import BinaryPolicy, Candidate, build_candidates
from xv.resolver.pubgrub import Range, Unavailable
from xv.resolver.result import Parent
from xv.resolver.specifiers import specifier_to_range
from xv.resolver.target import Target

PRERELEASE_MODES = ("disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit")
RESOLUTION_MODES = ("highest", "lowest", "lowest-direct")


@dataclass(frozen=True)
class PyPackage:
    """A node of the solver: a project, or one of its extras as a virtual package."""

    name: str
    extra: str | None = None

    def __str__(self) -> str:
        return f"{self.name}[{self.extra}]" if self.extra else self.name


ROOT = PyPackage("<root>")


@dataclass(frozen=True)
class InputRequirement:
    """A requirement given to the resolver and the input it came from."""

    requirement: Requirement
    parent: Parent


@dataclass(frozen=True)
class ResolverSettings:
    prerelease: str = "if-necessary-or-explicit"
    resolution: str = "highest"
    exclude_newer: datetime | None = None
    binary: BinaryPolicy = field(default_factory=BinaryPolicy)
    no_deps: bool = False


@dataclass(frozen=True)
class ResolverInputs:
    requirements: Sequence[InputRequirement]
    constraints: Sequence[InputRequirement] = ()
    overrides: Sequence[InputRequirement] = ()
    preferences: Mapping[str, Version] = field(default_factory=dict)


class MetadataSource:
    """What the provider needs from the index layer (an adapter keeps it swappable)."""

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        raise NotImplementedError

    def metadata(self, cands: Sequence[Candidate]) -> dict[str, object]:
        """Core metadata, or a reason string when unavailable, keyed by metadata file URL."""
        raise NotImplementedError


@lru_cache(maxsize=65536)
def parse_requirement(text: str) -> Requirement:
    return Requirement(text)


def _canonical_extra(extra: str) -> str:
    return canonicalize_name(extra)


class PythonProvider:
    """Implements the solver's DependencyProvider protocol for Python packages."""

    def __init__(
        self,
        inputs: ResolverInputs,
        settings: ResolverSettings,
        target: Target,
        source: MetadataSource,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.inputs = inputs
        self.settings = settings
        self.target = target
        self.source = source
        self.progress = progress
        self._pages: dict[str, ProjectPage | None] = {}
        self._cands: dict[str, list[Candidate]] = {}
        self._meta: dict[str, object] = {}
        self.deps: dict[tuple[PyPackage, Version], list[PyPackage]] = {}
        self.conflicts: dict[PyPackage, int] = {}
        self._order: dict[str, int] = {}
        self.skipped_prereleases: dict[str, list[Version]] = {}
        self.skipped_yanked: dict[str, list[Version]] = {}
        self._constraints = self._group(inputs.constraints)
        self._overrides = self._group(inputs.overrides)
        self.direct = {canonicalize_name(r.requirement.name) for r in inputs.requirements}
        self._explicit_pre = self._explicit_prerelease_names()
        self._pinned = self._pinned_names()

    # -- inputs -------------------------------------------------------------

    def _group(self, reqs: Sequence[InputRequirement]) -> dict[str, list[Requirement]]:
        grouped: dict[str, list[Requirement]] = {}
        for r in reqs:
            if self._marker_ok(r.requirement.marker, None):
                grouped.setdefault(canonicalize_name(r.requirement.name), []).append(r.requirement)
        return grouped

    def _explicit_prerelease_names(self) -> set[str]:
        """Names whose input specifiers mention a pre-release (``foo>=2.0b1``)."""
        return {
            canonicalize_name(r.requirement.name)
            for r in self._all_inputs()
            if any(_is_prerelease_spec(s.version) for s in r.requirement.specifier)
        }

    def _pinned_names(self) -> set[str]:
        """Names pinned with ``==`` in the inputs: only these may use yanked versions."""
        return {
            canonicalize_name(r.requirement.name)
            for r in self._all_inputs()
            if any(
                s.operator in ("==", "===") and not s.version.endswith(".*")
                for s in r.requirement.specifier
            )
        }

    def _all_inputs(self) -> Iterable[InputRequirement]:
        return (*self.inputs.requirements, *self.inputs.constraints, *self.inputs.overrides)

    def marker_applies(self, req: Requirement) -> bool:
        """Whether a requirement's marker holds for the target (no extra active)."""
        return self._marker_ok(req.marker, None)

    def _marker_ok(self, marker: Marker | None, extra: str | None) -> bool:
        if marker is None:
            return True
        env = dict(self.target.markers)
        env["extra"] = extra or ""
        return marker.evaluate(env)

    # -- candidates ---------------------------------------------------------

    def candidates(self, name: str) -> list[Candidate]:
        if name not in self._cands:
            self.ensure_pages([name])
            page = self._pages.get(name)
            self._cands[name] = (
                build_candidates(
                    page, self.target, self.settings.binary, self.settings.exclude_newer
                )
                if page is not None
                else []
            )
        return self._cands[name]

    def exists(self, name: str) -> bool:
        self.candidates(name)
        return self._pages.get(name) is not None

    def ensure_pages(self, names: Iterable[str]) -> None:
        missing = [n for n in dict.fromkeys(names) if n not in self._pages]
        if missing:
            self._pages.update(self.source.pages(missing))
            for n in missing:
                self._order.setdefault(n, len(self._order))

    def _prerelease_ok(self, name: str, any_stable_in_range: bool) -> bool:
        mode = self.settings.prerelease
        if mode == "allow":
            return True
        if mode == "disallow":
            return False
        explicit = name in self._explicit_pre
        if mode == "explicit":
            return explicit
        if mode == "if-necessary":
            return not any_stable_in_range
        return explicit or not any_stable_in_range

    def _ordered(self, name: str, cands: list[Candidate]) -> list[Candidate]:
        mode = self.settings.resolution
        if mode == "lowest" or (mode == "lowest-direct" and name in self.direct):
            return list(reversed(cands))
        return cands

    def choose_version(
        self, package: PyPackage, rng: Range[Version]
    ) -> Version | Unavailable | None:
        if package == ROOT:
            return Version("0")
        name = package.name
        if not self.exists(name):
            return Unavailable("was not found in the package registry")
        cands = [c for c in self.candidates(name) if c.excluded is None and rng.contains(c.version)]
        stable = [c for c in cands if not c.version.is_prerelease]
        if not self._prerelease_ok(name, bool(stable)):
            skipped = [c.version for c in cands if c.version.is_prerelease]
            if skipped:
                self.skipped_prereleases.setdefault(name, skipped)
            cands = stable
        pinned = name in self._pinned
        usable = [c for c in cands if pinned or not c.yanked]
        if len(usable) < len(cands):
            self.skipped_yanked.setdefault(name, [c.version for c in cands if c.yanked])
        preferred = self.inputs.preferences.get(name)
        if preferred is not None:
            for c in usable:
                if c.version == preferred:
                    return c.version
        ordered = self._ordered(name, usable)
        return ordered[0].version if ordered else None

    # -- priorities ---------------------------------------------------------

    def prioritize(self, package: PyPackage, rng: Range[Version]) -> tuple[int, int, int]:
        """Higher decides first: pinned ranges, then often-conflicting, then discovery order."""
        pinned = 1 if package.name in self._pinned else 0
        order = self._order.get(package.name, 1 << 20)
        return (pinned, self.conflicts.get(package, 0), -order)

    def on_conflict(self, package: PyPackage) -> None:
        self.conflicts[package] = self.conflicts.get(package, 0) + 1

    # -- dependencies -------------------------------------------------------

    def get_dependencies(
        self, package: PyPackage, version: Version
    ) -> Mapping[PyPackage, Range[Version]] | Unavailable:
        if package == ROOT:
            reqs = [r.requirement for r in self.inputs.requirements]
            deps = self._to_ranges(reqs, None, own=None)
        else:
            meta = self._metadata_for(package.name, version)
            if isinstance(meta, Unavailable):
                return meta
            deps_or_none = self._package_deps(package, version, meta)
            if isinstance(deps_or_none, Unavailable):
                return deps_or_none
            deps = deps_or_none
        self.deps[(package, version)] = list(deps)
        self._prefetch(deps)
        if self.progress is not None:
            self.progress(len(self.deps))
        return deps

    def _package_deps(
        self, package: PyPackage, version: Version, meta: object
    ) -> dict[PyPackage, Range[Version]] | Unavailable:
        requires_python = getattr(meta, "requires_python", None)
        if not self.target.allows_requires_python(requires_python):
            return Unavailable(f"requires Python {requires_python}")
        if self.settings.no_deps:
            reqs: list[Requirement] = []
        else:
            try:
                reqs = [parse_requirement(t) for t in getattr(meta, "requires_dist", ())]
            except InvalidRequirement as exc:
                return Unavailable(f"has invalid metadata: {exc}")
        deps = self._to_ranges(reqs, package.extra, own=package.name)
        if package.extra is not None:
            deps[PyPackage(package.name)] = Range.singleton(version)
        return deps

    def _to_ranges(
        self, reqs: Iterable[Requirement], extra: str | None, own: str | None
    ) -> dict[PyPackage, Range[Version]]:
        deps: dict[PyPackage, Range[Version]] = {}
        for req in reqs:
            if extra is not None and (
                not self._marker_ok(req.marker, extra) or self._marker_ok(req.marker, None)
            ):
                continue  # an extra adds only what its own markers select
            if extra is None and not self._marker_ok(req.marker, None):
                continue
            name = canonicalize_name(req.name)
            for r in self._overrides.get(name, [req]) if own != name else [req]:
                self._add_requirement(deps, name, r)
        return deps

    def _add_requirement(
        self, deps: dict[PyPackage, Range[Version]], name: str, req: Requirement
    ) -> None:
        if req.url:
            raise DirectUrlUnsupported(name, req.url)
        rng = specifier_to_range(req.specifier)
        for c in self._constraints.get(name, ()):
            rng = rng.intersection(specifier_to_range(c.specifier))
        for pkg in [PyPackage(name), *(PyPackage(name, _canonical_extra(e)) for e in req.extras)]:
            deps[pkg] = deps[pkg].intersection(rng) if pkg in deps else rng

    # -- metadata -----------------------------------------------------------

    def candidate(self, name: str, version: Version) -> Candidate | None:
        for c in self.candidates(name):
            if c.version == version:
                return c
        return None

    def _metadata_for(self, name: str, version: Version) -> object:
        cand = self.candidate(name, version)
        if cand is None or cand.metadata_file is None:
            return Unavailable("has no usable files")
        url = cand.metadata_file.url
        if url not in self._meta:
            self._meta.update(self.source.metadata([cand]))
        meta = self._meta.get(url)
        if meta is None or isinstance(meta, str):
            return Unavailable(meta or "metadata could not be read")
        return meta

    def _prefetch(self, deps: Mapping[PyPackage, Range[Version]]) -> None:
        """Fetch the pages of new dependencies, then the metadata of their likely picks."""
        self.ensure_pages(p.name for p in deps)
        wanted: list[Candidate] = []
        for pkg, rng in deps.items():
            if pkg.extra is not None:
                continue
            version = self.choose_version(pkg, rng)
            cand = self.candidate(pkg.name, version) if isinstance(version, Version) else None
            if (
                cand is not None
                and cand.metadata_file is not None
                and cand.metadata_file.url not in self._meta
            ):
                wanted.append(cand)
        if wanted:
            self._meta.update(self.source.metadata(wanted))

    # -- results ------------------------------------------------------------

    def version_list(self, package: PyPackage) -> list[Version] | None:
        if package == ROOT or package.name not in self._cands:
            return None
        return sorted(c.version for c in self._cands[package.name])


class DirectUrlUnsupported(Exception):
    """A direct URL requirement was met; building from URLs is a later feature."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        super().__init__(f"{name} @ {url}")


def _is_prerelease_spec(text: str) -> bool:
    try:
        return Version(text.removesuffix(".*")).is_prerelease
    except ValueError:
        return False
