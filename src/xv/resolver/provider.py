"""The Python side of resolution: packages, candidates, dependencies, policies.

The generic PubGrub solver asks this provider three questions (which package to
decide next, which version of it, and what that version depends on); everything
about Python packaging lives here: extras as virtual packages, markers, the
pre-release policy, constraints and overrides, preferred pins, and prefetching of
metadata in batches so the solver rarely waits on one request at a time.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.env.target import Target
from xv.index.filenames import file_version
from xv.index.metadata import CoreMetadata
from xv.index.simple import DistFile, ProjectPage
from xv.records import record
from xv.reqfile.requirement import is_exact
from xv.resolver.candidates import (
    NO_USABLE_WHEELS,
    BinaryPolicy,
    Candidate,
    DirectCandidate,
    build_candidates,
    candidate_versions,
    same_url,
)
from xv.resolver.guesses import Guesser
from xv.resolver.pubgrub import DependencyProvider, Range, Unavailable
from xv.resolver.result import Parent
from xv.resolver.selector import ALWAYS, CandidateSelector, SelectionPolicy, prerelease_rule
from xv.resolver.specifiers import specifier_to_range

log = logging.getLogger(__name__)

# uv's conflict tracking: a project rejected this many times because of others is
# decided earlier from then on, and one that caused that many rejections later.
CONFLICT_THRESHOLD = 5
# Decision classes, highest decided first (uv's PubGrubPriority, without URLs).
_SINGLETON, _CONFLICT_EARLY, _UNSPECIFIED, _CONFLICT_LATE = 3, 2, 1, 0


class PyPackage(NamedTuple):
    """A node of the solver: a project, or one of its extras as a virtual package.

    A named tuple, not a record: the solver hashes and compares packages at every step
    (~70 hashes per package resolved), and a tuple does both in C.
    """

    name: str
    extra: str | None = None

    def __str__(self) -> str:
        return f"{self.name}[{self.extra}]" if self.extra else self.name


ROOT = PyPackage("<root>")


@record
class InputRequirement:
    """A requirement given to the resolver and the input it came from."""

    requirement: Requirement
    parent: Parent


@record
class ResolverSettings:
    """How the provider chooses among candidates."""

    prerelease: str = "if-necessary-or-explicit"
    resolution: str = "highest"
    exclude_newer: datetime | None = None
    binary: BinaryPolicy = field(default_factory=BinaryPolicy)
    no_deps: bool = False


@record
class ResolverInputs:
    """What to resolve, and the versions to prefer."""

    requirements: Sequence[InputRequirement]
    constraints: Sequence[InputRequirement] = ()
    overrides: Sequence[InputRequirement] = ()
    preferences: Mapping[str, Version] = field(default_factory=dict)
    direct: Mapping[str, DirectCandidate] = field(default_factory=dict)  # by normalised name


class MetadataSource:
    """What the provider needs from the index layer (an adapter keeps it swappable: the
    index and its cache, a lock's pins, or a dict in memory for a test or a library user)."""

    # Called while ``pages`` or ``metadata`` wait, whenever a guess arrives meanwhile.
    while_waiting: Callable[[], None] | None = None

    def pages(self, names: Iterable[str]) -> Mapping[str, ProjectPage | None]:
        """The index page of each name (``None``: no such project)."""
        raise NotImplementedError

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        """Core metadata of each candidate's ``metadata_file``, keyed by that file's URL, or
        why it cannot be had (the reason reads after "name version"). A network error is
        raised, not returned: it says nothing about the version."""
        raise NotImplementedError

    def prefetch(
        self, cands: Sequence[Candidate], builds: bool
    ) -> Mapping[str, CoreMetadata | Unavailable]:
        """Metadata guessed ahead of the solver: what is known at once (may leave any out).
        Wheels only here; a source that builds may add sdists when ``builds`` says the
        guess is a good one, or queue their builds, which then arrive via ``finished``."""
        wheels = [c for c in cands if c.metadata_file is not None and c.metadata_file.is_wheel]
        return self.metadata(wheels) if wheels else {}

    def prefetch_pages(self, names: Iterable[str], priority: int = 0) -> None:
        """A guess: fetch these pages ahead, lower ``priority`` first (default: don't)."""

    def prefetch_metadata(self, cands: Iterable[Candidate], priority: int = 0) -> None:
        """A guess: fetch this metadata ahead (never by building an sdist)."""

    def finished(self) -> tuple[list[str], list[str]]:
        """Names and metadata URLs whose guesses have arrived since the last call."""
        return [], []

    def flush(self) -> None:
        """Finish what was deferred (cache writes): called when a solve ends."""


@lru_cache(maxsize=65536)
def parse_requirement(text: str) -> Requirement:
    return Requirement(text)


def _canonical_extra(extra: str) -> str:
    return canonicalize_name(extra)


class PythonProvider(DependencyProvider[PyPackage, Version]):
    """The solver's provider for Python packages."""

    # Whether _to_ranges gives the same ranges for the same requirements whenever asked
    # (so package_dependencies keeps them): not in a universal resolution, where they
    # depend on the fork, and asking records edges and may fork.
    ranges_repeat = True

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
        self._cands: dict[str, Sequence[Candidate]] = {}
        # package_dependencies of each Requires-Dist list met (with the extra and the
        # project asking): a project's versions mostly repeat their requirements, and a
        # resolution that walks back through thousands of them (boto3 with an old urllib3:
        # ~1,700 botocore versions) parsed and ranged the same strings each time.
        self._deps_of: dict[tuple[tuple[str, ...], str | None, str], dict[PyPackage, Range[Version]]] = {}  # fmt: skip
        self._meta: dict[str, CoreMetadata | Unavailable] = {}
        self.deps: dict[tuple[PyPackage, Version], list[PyPackage]] = {}
        # Projects whose dependencies were read: what the progress line counts. Not
        # len(deps), which also counts the root, extras and every version tried.
        self._resolved: set[str] = set()
        self._logged_over: set[tuple[str, Version]] = set()
        self._unusable: dict[tuple[str, Version], str] = {}  # versions tried and passed over
        self._selectors: dict[str, CandidateSelector] = {}
        self._by_version: dict[str, dict[Version, int]] = {}  # position in candidates()
        self._ascending: dict[str, list[Version]] = {}
        self._guesser = Guesser(self)  # fetches ahead of the solver
        self._affected: dict[str, int] = {}  # rejections of a project caused by others
        self._culprit: dict[str, int] = {}  # rejections of others a project caused
        self._conflict_class: dict[str, int] = {}
        self._order: dict[str, int] = {}
        self.skipped_prereleases: dict[str, list[Version]] = {}
        self.skipped_yanked: dict[str, list[Version]] = {}
        self.too_new: dict[str, list[tuple[Version, str]]] = {}  # by --exclude-newer, newest first
        self._constraints = self._group(inputs.constraints)
        self._overrides = self._group(inputs.overrides)
        self.direct = {canonicalize_name(r.requirement.name) for r in inputs.requirements}
        self._explicit_pre = self._explicit_prerelease_names()
        self._pinned = self._pinned_names()
        self._input_ranges = self._ranges_from_inputs()
        for name, direct in inputs.direct.items():
            self._seed_direct(name, direct)

    def _seed_direct(self, name: str, direct: DirectCandidate) -> None:
        """A URL package has exactly one candidate, whose metadata is already known."""
        file = DistFile(f"{name}-{direct.version}", direct.url)
        self._pages[name] = ProjectPage(name, (file,), direct.url)
        self._cands[name] = [Candidate(direct.version, direct.files, file, False, None)]
        self._meta[direct.url] = direct.metadata

    # -- inputs ----------------------------------------------------------------

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
            if any(is_exact(s) for s in r.requirement.specifier)
        }

    def _ranges_from_inputs(self) -> dict[str, Range[Version]]:
        """Per name, the versions that the requirements and constraints given to the
        resolver allow at all (no dependency can widen them)."""
        ranges: dict[str, Range[Version]] = {}
        for r in (*self.inputs.requirements, *self.inputs.constraints):
            req = r.requirement
            name = canonicalize_name(req.name)
            if req.url or name in self._overrides or not self._marker_ok(req.marker, None):
                continue
            rng = specifier_to_range(req.specifier)
            ranges[name] = ranges[name].intersection(rng) if name in ranges else rng
        return ranges

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

    # -- candidates ------------------------------------------------------------

    def candidates(self, name: str) -> Sequence[Candidate]:
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
            if page is not None and self.settings.exclude_newer is not None:
                self._note_too_new(name, page, self._cands[name])
        return self._cands[name]

    def _note_too_new(self, name: str, page: ProjectPage, kept: Sequence[Candidate]) -> None:
        """Remember (and log under -v) the versions ``--exclude-newer`` left out, for uv's
        hint naming the newest one that would have fitted."""
        known = {c.version for c in kept}
        newer: dict[Version, str] = {}
        for f in page.files:
            version = file_version(page.name, f.filename)
            if version is not None and version not in known:
                newer[version] = min(newer.get(version, f.upload_time or ""), f.upload_time or "")
        if newer:
            self.too_new[name] = sorted(newer.items(), reverse=True)
            newest, when = self.too_new[name][0]
            log.debug(
                "%s: %d version(s) passed over: uploaded after --exclude-newer (newest %s, %s)",
                name, len(newer), newest, when,
            )  # fmt: skip

    def exists(self, name: str) -> bool:
        self.candidates(name)
        return self._pages.get(name) is not None

    def ensure_pages(self, names: Iterable[str]) -> None:
        missing = [n for n in dict.fromkeys(names) if n not in self._pages]
        if missing:
            self._pages.update(self.source.pages(missing))

    @property
    def known_pages(self) -> Mapping[str, ProjectPage | None]:
        """The pages read so far, by name (``None``: no such project)."""
        return self._pages

    @property
    def known_metadata(self) -> dict[str, CoreMetadata | Unavailable]:
        """Metadata read so far, by metadata file URL (the guesses add to it)."""
        return self._meta

    def input_range(self, name: str) -> Range[Version]:
        """The versions of ``name`` the inputs allow at all (no dependency widens them)."""
        return self._input_ranges.get(name, Range.full())

    def selector(self, name: str) -> CandidateSelector:
        sel = self._selectors.get(name)
        if sel is None:
            mode = self.settings.resolution
            policy = SelectionPolicy(
                prerelease=prerelease_rule(self.settings.prerelease, name in self._explicit_pre),
                allow_yanked=name in self._pinned,
                lowest=mode == "lowest" or (mode == "lowest-direct" and name in self.direct),
                preferred=self.inputs.preferences.get(name),
            )
            sel = self._selectors[name] = CandidateSelector(self.candidates(name), policy)
        return sel

    def choose_version(
        self, package: PyPackage, rng: Range[Version]
    ) -> Version | Unavailable | None:
        if package == ROOT:
            return Version("0")
        self._guesser.pump()
        name = package.name
        if not self.exists(name):
            return Unavailable("was not found in the package registry")
        cand = self.selector(name).select(rng)
        over = self._passed_over(name, rng, cand)
        if over is not None:
            return over
        if log.isEnabledFor(logging.DEBUG):
            self._log_choice(package, rng, cand)
        if cand is None:
            self._record_skipped(name, rng)
            return None
        if package.extra is None:
            self._guesser.version_tried(name, rng, cand.version)
        return cand.version

    def _passed_over(
        self, name: str, rng: Range[Version], chosen: Candidate | None
    ) -> Version | None:
        """A version in ``rng`` that ranks before ``chosen`` but cannot be used (no usable
        files, building disabled, Requires-Python): returned to the solver, which asks
        for its dependencies and gets the reason, so the failure names it ("bar==2.0 has
        no usable wheels") instead of passing over it silently, as uv does. A preferred
        pin (from an existing lock) still comes first; a pre-release only when allowed.
        Yanked versions are not offered: they still count for the pre-release policy (a
        yanked 2.1 keeps 3.0b1 out), so offering them would change answers; -v and a hint
        name them."""
        sel = self.selector(name)
        if chosen is not None and chosen.version == sel.policy.preferred:
            return None
        pre_ok = sel.policy.prerelease == ALWAYS or (
            chosen is not None and chosen.version.is_prerelease
        )
        over = sel.passed_over(rng, chosen, pre_ok)
        if over is None or over.excluded is None:
            return None
        version, why = over.version, over.excluded
        self._unusable[(name, version)] = why
        if (name, version) not in self._logged_over:
            self._logged_over.add((name, version))
            extra = " (building from source is disabled)" if why == NO_USABLE_WHEELS else ""
            log.debug("%s %s passed over: %s%s", name, version, why, extra)
        return version

    def _log_choice(
        self, package: PyPackage, rng: Range[Version], chosen: Candidate | None
    ) -> None:
        """``-v``: the versions in ``rng`` preferred to the choice but passed over, and why
        (each once), then the choice."""
        name = package.name
        sel = self.selector(name)
        for c in self.candidates(name):
            if not rng.contains(c.version) or (name, c.version) in self._logged_over:
                continue
            if chosen is not None and (
                c.version <= chosen.version
                if not sel.policy.lowest
                else c.version >= chosen.version
            ):
                continue
            why = c.excluded or ("was yanked" if not sel.unyanked(c) else None)
            if why is None and c.version.is_prerelease:
                why = "a pre-release"
            if why is not None:
                self._logged_over.add((name, c.version))
                log.debug("%s %s passed over: %s", name, c.version, why)
        if chosen is not None:
            log.debug("selecting %s %s", package, chosen.version)
        else:
            log.debug("no version of %s in %s can be chosen", package, rng)

    def _record_skipped(self, name: str, rng: Range[Version]) -> None:
        """Remember what the policy passed over, for the hints of a failure."""
        pre, yanked = self.selector(name).skipped(rng)
        for found, into in ((pre, self.skipped_prereleases), (yanked, self.skipped_yanked)):
            if found:
                known = into.setdefault(name, [])
                known.extend(v for v in found if v not in known)
                known.sort(reverse=True)

    # -- priorities ------------------------------------------------------------

    def prioritize(self, package: PyPackage, rng: Range[Version]) -> tuple[int, int]:
        """Higher decides first: pinned or single-version ranges, then projects that
        were often rejected because of others, then the rest, then projects that often
        caused rejections; within a class, the order in which projects were met."""
        name = package.name
        order = self._order.get(name, 1 << 20)
        if name in self._pinned or rng.as_singleton() is not None:
            return (_SINGLETON, -order)
        return (self._conflict_class.get(name, _UNSPECIFIED), -order)

    def twin_of(self, package: PyPackage) -> PyPackage | None:
        """An extra's project: ``foo[x] 1.2`` depends on ``foo ==1.2`` (see
        :meth:`package_dependencies`)."""
        return PyPackage(package.name) if package.extra is not None else None

    def on_conflict(self, affected: PyPackage, culprits: Sequence[PyPackage]) -> None:
        """uv's conflict tracker (extras conflicting with their own project don't count)."""
        real = [c for c in culprits if c.name != affected.name and c != ROOT]
        if not real or affected == ROOT:
            return
        log.debug("%s rejected because of %s", affected, ", ".join(map(str, real)))
        for c in real:
            self._culprit[c.name] = count = self._culprit.get(c.name, 0) + 1
            if count == CONFLICT_THRESHOLD and c.name not in self._conflict_class:
                self._conflict_class[c.name] = _CONFLICT_LATE
        self._affected[affected.name] = count = self._affected.get(affected.name, 0) + 1
        if count == CONFLICT_THRESHOLD:
            self._conflict_class[affected.name] = _CONFLICT_EARLY

    # -- dependencies ----------------------------------------------------------

    def get_dependencies(
        self, package: PyPackage, version: Version
    ) -> Mapping[PyPackage, Range[Version]] | Unavailable:
        self._guesser.pump()
        if package == ROOT:
            reqs = [r.requirement for r in self.inputs.requirements]
            deps = self._to_ranges(reqs, None, own=None)
            prefs = self.inputs.preferences  # a lock's pins: most of what will be chosen
            self._guesser.dependencies(
                {PyPackage(n): Range.singleton(v) for n, v in prefs.items()}, -1
            )
        else:
            why = self._unusable.get((package.name, version))
            if why is not None:
                return Unavailable(why)
            meta = self._metadata_for(package.name, version)
            found = (
                meta
                if isinstance(meta, Unavailable)
                else self.package_dependencies(package, version, meta)
            )
            if isinstance(found, Unavailable):
                if (package.name, version) not in self._logged_over:
                    self._logged_over.add((package.name, version))
                    log.debug("%s %s passed over: %s", package.name, version, found.reason)
                return found
            deps = found
        self.deps[(package, version)] = list(deps)
        for p in deps:  # the order in which the solver meets projects breaks priority ties
            self._order.setdefault(p.name, len(self._order))
        self._guesser.dependencies(deps)
        if package != ROOT:
            self._resolved.add(package.name)
        if self.progress is not None:
            self.progress(len(self._resolved))
        return deps

    def package_dependencies(
        self, package: PyPackage, version: Version, meta: CoreMetadata
    ) -> dict[PyPackage, Range[Version]] | Unavailable:
        requires_python = meta.requires_python
        if not self.target.allows_requires_python(requires_python):
            return Unavailable(f"requires Python {requires_python}")
        key = (
            () if self.settings.no_deps else tuple(meta.requires_dist),
            package.extra,
            package.name,
        )
        known = self._deps_of.get(key) if self.ranges_repeat else None
        if known is None:
            try:
                reqs = [parse_requirement(t) for t in key[0]]
            except InvalidRequirement as exc:
                return Unavailable(f"has invalid metadata: {exc}")
            known = self._to_ranges(reqs, package.extra, own=package.name)
            if self.ranges_repeat:
                self._deps_of[key] = known
        deps = dict(known)  # the caller's own: the version's singleton is added below
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
        if req.url and not same_url(req.url, self.inputs.direct.get(name)):
            raise DirectUrlUnsupported(name, req.url)
        rng = specifier_to_range(req.specifier)
        for c in self._constraints.get(name, ()):
            rng = rng.intersection(specifier_to_range(c.specifier))
        for pkg in [PyPackage(name), *(PyPackage(name, _canonical_extra(e)) for e in req.extras)]:
            deps[pkg] = deps[pkg].intersection(rng) if pkg in deps else rng

    # -- metadata --------------------------------------------------------------

    def candidate(self, name: str, version: Version) -> Candidate | None:
        cands = self.candidates(name)
        by_version = self._by_version.get(name)
        if by_version is None:
            versions = candidate_versions(cands)
            by_version = self._by_version[name] = {v: i for i, v in enumerate(versions)}
        i = by_version.get(version)
        return cands[i] if i is not None else None

    def _metadata_for(self, name: str, version: Version) -> CoreMetadata | Unavailable:
        cand = self.candidate(name, version)
        if cand is None or cand.metadata_file is None:
            return Unavailable("has no usable files")
        url = cand.metadata_file.url
        if url not in self._meta:
            self._meta.update(self.source.metadata([cand]))
        meta = self._meta.get(url)
        return Unavailable("metadata could not be read") if meta is None else meta

    # -- version spans ---------------------------------------------------------

    def version_span(self, package: PyPackage, version: Version) -> Range[Version] | None:
        """``[version, next version on the index)``: facts about one version are stated
        over it, so rejecting versions one after another leaves one interval."""
        if package == ROOT:
            return None
        ascending = self._versions(package.name)
        i = bisect_right(ascending, version)
        if i == 0 or ascending[i - 1] != version:
            return None
        if i == len(ascending):
            return Range.higher_than(version)
        return Range.between(version, ascending[i])

    # -- results ---------------------------------------------------------------

    def version_list(self, package: PyPackage) -> list[Version] | None:
        if package == ROOT or package.name not in self._cands:
            return None
        return list(self._versions(package.name))

    def _versions(self, name: str) -> list[Version]:
        """Every version of ``name`` on the index, ascending (usable or not)."""
        ascending = self._ascending.get(name)
        if ascending is None:
            ascending = self._ascending[name] = sorted(candidate_versions(self.candidates(name)))
        return ascending


class DirectUrlUnsupported(Exception):
    """A URL dependency that is not also a direct requirement (uv refuses these too)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        super().__init__(f"{name} @ {url}")


def _is_prerelease_spec(text: str) -> bool:
    try:
        return Version(text.removesuffix(".*")).is_prerelease
    except ValueError:
        return False
