"""Hints after a conflict explanation: versions that exist but were left out, and why.

The explanation says *that* no version fits; a hint says what the user can change:
a pre-release that would fit, a yanked version, a version needing another Python or
another platform, a package that is not on the index at all.
"""

from __future__ import annotations

from xv.resolver.provider import PyPackage, PythonProvider
from xv.resolver.pubgrub import DerivationTree, NoVersions, UnavailableVersions, externals

MAX_EXAMPLES = 3


def hints_for(tree: DerivationTree, provider: PythonProvider) -> list[str]:
    """One line per hint, each starting with ``hint:``; duplicates removed."""
    hints: list[str] = []
    for leaf in externals(tree):
        if not isinstance(leaf, NoVersions | UnavailableVersions):
            continue
        package = leaf.package
        if not isinstance(package, PyPackage):
            continue
        for hint in _package_hints(package, leaf.range, provider):
            if hint not in hints:
                hints.append(hint)
    return hints


def _package_hints(package: PyPackage, rng: object, provider: PythonProvider) -> list[str]:
    name = package.name
    contains = getattr(rng, "contains")  # noqa: B009 - Range is generic over versions
    out: list[str] = []
    pre = [v for v in provider.skipped_prereleases.get(name, ()) if contains(v)]
    if pre:
        out.append(
            f"hint: pre-releases are available for {name} in the requested range "
            f"(e.g., {pre[0]}), but pre-releases weren't enabled (try: `--prerelease=allow`)"
        )
    yanked = [v for v in provider.skipped_yanked.get(name, ()) if contains(v)]
    if yanked:
        shown = ", ".join(f"{name}=={v}" for v in yanked[:MAX_EXAMPLES])
        out.append(
            f"hint: {shown} {'was' if len(yanked) == 1 else 'were'} yanked; "
            f"pin one with `{name}==VERSION` to use it anyway"
        )
    for cand in provider.candidates(name)[:50]:
        if cand.excluded is not None and contains(cand.version):
            out.append(f"hint: {name}=={cand.version} {cand.excluded}")
            if len(out) >= MAX_EXAMPLES + 2:
                break
    return out
