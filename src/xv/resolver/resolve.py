"""Run the solver over the Python provider and shape its answer.

Success becomes a :class:`Resolution` with the ``# via`` parents of every pin;
failure becomes a :class:`~xv.resolver.failure.NoSolution` carrying the derivation
tree and the versions that were left out and why (rendered to text by its caller).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.errors import XvError
from xv.resolver.provider import ROOT, DirectUrlUnsupported, PyPackage, PythonProvider
from xv.resolver.pubgrub import (
    DerivationTree,
    Derived,
    FromDependencyOf,
    NoSolutionError,
    NoVersions,
    Range,
    Term,
    UnavailableVersions,
    externals,
    resolve,
)
from xv.resolver.result import Parent, Resolution, ResolvedDist

if TYPE_CHECKING:  # a failure's report (and its renderer) loads when a resolution fails
    from xv.resolver.failure import NoSolution, SkippedVersions
from xv.resolver.specifiers import specifier_to_range


def run(provider: PythonProvider) -> Resolution:
    """Resolve, or raise :class:`NoSolution` (exit 1) saying why."""
    return _resolution(provider, solve(provider))


def solve(provider: PythonProvider) -> dict[PyPackage, Version]:
    """The solver's answer, or :class:`NoSolution` (exit 1) saying why."""
    try:
        conflict = _root_conflict(provider)
        if conflict is not None:
            raise NoSolutionError(conflict)
        return resolve(provider, ROOT, Version("0"))
    except NoSolutionError as exc:
        raise _failure(_unspan(exc.tree, provider), provider) from None
    except DirectUrlUnsupported as exc:
        raise XvError(
            f"{exc.name} @ {exc.url} is a URL dependency of another package; URL dependencies "
            "must also be given as direct requirements or constraints (as uv requires)"
        ) from None
    finally:
        provider.source.flush()


def _root_conflict(provider: PythonProvider) -> DerivationTree | None:
    """Two inputs that no version satisfies together (``foo==1`` and ``foo==2``, or a
    requirement and a ``-c`` constraint), as the tree uv reports for them: "you require
    foo==1 and foo==2". The solver would only see their empty intersection."""
    inputs = provider.inputs
    overridden = {canonicalize_name(r.requirement.name) for r in inputs.overrides}
    ranges: dict[str, list[Range[Version]]] = {}
    tagged = [(r, False) for r in (*inputs.requirements, *inputs.constraints)]
    for item, is_override in [*tagged, *((r, True) for r in inputs.overrides)]:
        req = item.requirement
        name = canonicalize_name(req.name)
        if req.url or (name in overridden) != is_override or not provider.marker_applies(req):
            continue
        ranges.setdefault(name, []).append(specifier_to_range(req.specifier))
    for project, parts in ranges.items():
        pair = _disjoint_pair(parts)
        if pair is not None:
            full: Range[Version] = Range.full()
            causes = [FromDependencyOf(ROOT, full, PyPackage(project), rng) for rng in pair]
            return Derived({ROOT: Term(True, full)}, None, causes[0], causes[1])
    return None


def _disjoint_pair(parts: list[Range[Version]]) -> tuple[Range[Version], Range[Version]] | None:
    """The first input that leaves no version, with an earlier one it excludes alone
    (else with what all the earlier ones allow together)."""
    allowed: Range[Version] = Range.full()
    for k, rng in enumerate(parts):
        if allowed.intersection(rng).is_empty():
            alone = [p for p in parts[:k] if p.intersection(rng).is_empty()]
            return (alone[0] if alone else allowed, rng)
        allowed = allowed.intersection(rng)
    return None


def _unspan(tree: DerivationTree, provider: PythonProvider) -> DerivationTree:
    """Conclusions about ``[v, next version)`` (the span the solver states facts about
    ``v`` over, see ``PythonProvider.version_span``) read as ``==v``."""
    if not isinstance(tree, Derived):
        return tree
    terms = {p: Term(t.positive, _single(provider, p, t.range)) for p, t in tree.terms.items()}
    cause1, cause2 = _unspan(tree.cause1, provider), _unspan(tree.cause2, provider)
    return Derived(terms, tree.shared_id, cause1, cause2)


def _single(provider: PythonProvider, package: PyPackage, rng: Range[Version]) -> Range[Version]:
    segs = rng.segments
    if len(segs) == 1 and segs[0].lower is not None and segs[0].lower_inclusive:
        low = segs[0].lower
        if provider.version_span(package, low) == rng:
            return Range.singleton(low)
    return rng


def _failure(tree: DerivationTree, provider: PythonProvider) -> NoSolution:
    """The tree with what the provider knows about its packages: the versions that
    exist (ranges read by them) and, where no version was left, what was skipped."""
    from xv.resolver.failure import NoSolution

    versions: dict[PyPackage, list[Version]] = {}
    for package in _packages(tree):
        if isinstance(package, PyPackage):
            known = provider.version_list(package)
            if known is not None:
                versions[package] = known
    skipped: dict[str, SkippedVersions] = {}
    for leaf in externals(tree):
        if isinstance(leaf, NoVersions | UnavailableVersions):
            package = leaf.package
            if isinstance(package, PyPackage) and package.name not in skipped:
                skipped[package.name] = _skipped(provider, package.name)
    return NoSolution(tree, versions, skipped)


def _skipped(provider: PythonProvider, name: str) -> SkippedVersions:
    from xv.resolver.failure import SkippedVersions

    cutoff = provider.settings.exclude_newer
    excluded = [
        (c.version, c.excluded) for c in provider.candidates(name)[:50] if c.excluded is not None
    ]
    return SkippedVersions(
        prereleases=tuple(provider.skipped_prereleases.get(name, ())),
        yanked=tuple(provider.skipped_yanked.get(name, ())),
        excluded=tuple(excluded),
        build_refusal=provider.settings.binary.build_refusal(name),
        too_new=tuple(provider.too_new.get(name, ())),
        exclude_newer=cutoff.isoformat() if cutoff is not None else None,
    )


def _packages(tree: DerivationTree) -> dict[object, None]:
    """Every package the tree names, in order of appearance."""
    found: dict[object, None] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Derived):
            found.update(dict.fromkeys(node.terms))
            stack.extend((node.cause2, node.cause1))
        elif isinstance(node, FromDependencyOf):
            found.update(dict.fromkeys((node.package, node.dependency)))
        else:
            found[node.package] = None
    return found


def _resolution(provider: PythonProvider, solution: dict[PyPackage, Version]) -> Resolution:
    parents: dict[str, set[Parent]] = defaultdict(set)
    extras: dict[str, set[str]] = defaultdict(set)
    for pkg, version in solution.items():
        if pkg == ROOT:
            continue
        if pkg.extra is not None:
            extras[pkg.name].add(pkg.extra)
        for dep in provider.deps.get((pkg, version), ()):
            if dep.name != pkg.name:
                parents[dep.name].add(Parent("package", pkg.name))
    inputs = provider.inputs
    for r in inputs.requirements:
        name = canonicalize_name(r.requirement.name)
        if PyPackage(name) in solution and provider.marker_applies(r.requirement):
            parents[name].add(r.parent)
    for r in (*inputs.constraints, *inputs.overrides):
        name = canonicalize_name(r.requirement.name)
        if PyPackage(name) in solution:
            parents[name].add(r.parent)
    dists = []
    for pkg, version in sorted(solution.items(), key=lambda kv: (kv[0].name, kv[0].extra or "")):
        if pkg == ROOT or pkg.extra is not None:
            continue
        cand = provider.candidate(pkg.name, version)
        direct = inputs.direct.get(pkg.name)
        dists.append(
            ResolvedDist(
                name=pkg.name,
                version=version,
                extras=frozenset(extras.get(pkg.name, ())),
                url=direct.url if direct is not None else None,
                files=cand.files if cand is not None else (),
                parents=frozenset(parents.get(pkg.name, ())),
                editable=direct is not None and direct.editable,
            )
        )
    return Resolution(tuple(dists))
