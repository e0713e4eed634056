"""Universal resolution: solve every fork, then merge the forks into one lock.

Forks are kept on a stack, as uv keeps them: a fork that must split is replaced by
its parts (sorted so that the one with the highest Python lower bound is solved
first), and each fork is solved with PubGrub under its marker environment. A fork
prefers the versions decided before it split, then the versions that forks solved
before it chose (those whose environment meets it first, then the highest), then
the existing lock's pins: so one version serves every fork where it can.

The merge gives each pinned version the union, over the forks that chose it, of
the marker under which it is reachable from the root in that fork; a package the
forks disagree on appears once per version, under disjoint markers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.errors import ResolutionError
from xv.resolver.markers import FALSE, MarkerTree
from xv.resolver.provider import ROOT, MetadataSource, PyPackage, ResolverInputs, ResolverSettings
from xv.resolver.pubgrub import Range
from xv.resolver.resolve import solve
from xv.resolver.result import Parent, Resolution, ResolvedDist
from xv.resolver.universal import ForkNeeded, SharedState, UniversalProvider, marker_tree

# Each split makes smaller forks, so the stack empties; this only guards a bug.
MAX_FORKS = 1000


@dataclass
class SolvedFork:
    env: MarkerTree
    solution: dict[PyPackage, Version]
    provider: UniversalProvider


def resolve_universal(
    inputs: ResolverInputs,
    settings: ResolverSettings,
    source: MetadataSource,
    python: tuple[int, ...],
    lock: Mapping[str, Sequence[tuple[Version, str | None]]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Resolution:
    """Resolve for every environment with Python ``>= python`` (a release tuple); ``lock``
    holds the existing lock's pins to keep where they fit, each with its marker."""
    pins = {name: [(v, marker_tree(m)) for v, m in found] for name, found in (lock or {}).items()}
    python_marker = MarkerTree.python_range(Range.higher_than(python))
    stack: list[tuple[MarkerTree, dict[str, Version]]] = [(python_marker, {})]
    solved: list[SolvedFork] = []
    shared: SharedState | None = None
    for _ in range(MAX_FORKS):
        if not stack:
            return merge(solved, inputs, python)
        env, decided = stack.pop()
        provider = UniversalProvider(
            inputs,
            settings,
            source,
            env,
            python_marker,
            _preferences(env, decided, solved, pins),
            shared,
            progress,
        )
        shared = provider.shared()
        try:
            solution = solve(provider)
        except ForkNeeded as fork:
            stack.extend((part, fork.decided) for part in fork.forks)
            continue
        except ResolutionError as exc:
            raise _in_fork(exc, env, python_marker, python) from None
        solved.append(SolvedFork(env, solution, provider))
    raise RuntimeError("universal resolution did not converge")  # pragma: no cover


def _in_fork(
    exc: ResolutionError, env: MarkerTree, whole: MarkerTree, python: tuple[int, ...]
) -> ResolutionError:
    """Name the fork that has no solution, as uv does."""
    if env == whole:
        return exc
    exc.split = str(env.simplify_python(python)) or None
    return exc


def _preferences(
    env: MarkerTree,
    decided: Mapping[str, Version],
    solved: Sequence[SolvedFork],
    pins: Mapping[str, Sequence[tuple[Version, MarkerTree]]],
) -> dict[str, list[Version]]:
    """Per package, the versions to try first, best first: the one decided before the
    fork split, then (uv's order) those of solved forks and of the existing lock whose
    markers meet this fork, highest first, then the others, highest first."""
    ranked: dict[str, list[tuple[bool, Version]]] = defaultdict(list)
    for fork in solved:
        meets = not fork.env.is_disjoint(env)
        for pkg, version in fork.solution.items():
            if pkg != ROOT and pkg.extra is None:
                ranked[pkg.name].append((meets, version))
    for name, found in pins.items():
        ranked[name] += [(not marker.is_disjoint(env), v) for v, marker in found]
    out: dict[str, list[Version]] = {}
    for name in {*decided, *ranked}:
        order = [decided[name]] if name in decided else []
        order += [v for _, v in sorted(ranked.get(name, ()), reverse=True)]
        out[name] = list(dict.fromkeys(order))
    return out


# -- merging -------------------------------------------------------------------


def _reach(fork: SolvedFork) -> dict[PyPackage, MarkerTree]:
    """Per package, where it is reachable from the root in this fork."""
    reach: dict[PyPackage, MarkerTree] = {ROOT: fork.env}
    edges = [
        (pkg, dep, marker)
        for pkg, version in fork.solution.items()
        for dep, marker in fork.provider.edges.get((pkg, version), {}).items()
        if dep in fork.solution
    ]
    changed = True
    while changed:
        changed = False
        for pkg, dep, marker in edges:
            if pkg not in reach:
                continue
            grown = reach.get(dep, FALSE) | (reach[pkg] & marker)
            if grown != reach.get(dep, FALSE):
                reach[dep] = grown
                changed = True
    return reach


def merge(
    solved: Sequence[SolvedFork], inputs: ResolverInputs, python: tuple[int, ...]
) -> Resolution:
    markers: dict[tuple[str, Version], MarkerTree] = defaultdict(lambda: FALSE)
    parents: dict[tuple[str, Version], set[Parent]] = defaultdict(set)
    extras: dict[str, set[str]] = defaultdict(set)
    owner: dict[tuple[str, Version], UniversalProvider] = {}
    for fork in solved:
        reach = _reach(fork)
        for pkg, version in fork.solution.items():
            where = reach.get(pkg, FALSE)
            if pkg == ROOT or where.is_false():
                continue
            if pkg.extra is not None:
                extras[pkg.name].add(pkg.extra)
                continue
            key = (pkg.name, version)
            markers[key] = markers[key] | where
            owner.setdefault(key, fork.provider)
        _collect_parents(fork, reach, inputs, parents)
    dists = []
    for (name, version), where in sorted(markers.items()):
        cand = owner[(name, version)].candidate(name, version)
        text = str(where.simplify_python(python)) or None
        direct = inputs.direct.get(name)  # a URL, path or -e requirement: written as given
        dists.append(
            ResolvedDist(
                name=name,
                version=version,
                extras=frozenset(extras.get(name, ())),
                url=direct.url if direct is not None else None,
                files=cand.files if cand is not None else (),
                parents=frozenset(parents.get((name, version), ())),
                marker=text,
                editable=direct is not None and direct.editable,
            )
        )
    return Resolution(tuple(dists))


def _collect_parents(
    fork: SolvedFork,
    reach: Mapping[PyPackage, MarkerTree],
    inputs: ResolverInputs,
    parents: dict[tuple[str, Version], set[Parent]],
) -> None:
    solution = fork.solution
    for (pkg, version), deps in fork.provider.edges.items():
        if pkg == ROOT or solution.get(pkg) != version or pkg not in reach:
            continue
        for dep, marker in deps.items():
            if dep.name != pkg.name and dep in solution and not (reach[pkg] & marker).is_false():
                parents[(dep.name, solution[dep])].add(Parent("package", pkg.name))
    for r in inputs.requirements:
        name = canonicalize_name(r.requirement.name)
        pkg = PyPackage(name)
        marker = marker_tree(str(r.requirement.marker) if r.requirement.marker else None)
        if pkg in solution and not (fork.env & marker).is_false():
            parents[(name, solution[pkg])].add(r.parent)
    for r in (*inputs.constraints, *inputs.overrides):
        name = canonicalize_name(r.requirement.name)
        if PyPackage(name) in solution:
            parents[(name, solution[PyPackage(name)])].add(r.parent)
