"""A failed resolution as data, and its rendering to English.

The solver's derivation tree says why no solution exists; the provider adds, for the
projects the tree names, the versions that exist and those it left out (pre-releases,
yanked versions, versions for another Python or platform). :class:`NoSolution` carries
both, so a library user can inspect them; :func:`render` turns them into uv's text: the
explanation, then hints that say what the user can change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.version import Version

from xv.errors import ResolutionError
from xv.records import record
from xv.resolver.candidates import NO_USABLE_WHEELS
from xv.resolver.explain import explain
from xv.resolver.provider import ROOT, PyPackage
from xv.resolver.pubgrub import DerivationTree, NoVersions, Range, UnavailableVersions, externals

MAX_EXAMPLES = 3


@record
class SkippedVersions:
    """Versions of one project that exist but were left out, newest first."""

    prereleases: tuple[Version, ...] = ()  # passed over by the pre-release policy
    yanked: tuple[Version, ...] = ()  # passed over because yanked
    excluded: tuple[tuple[Version, str], ...] = ()  # ruled out before solving, and why
    # Which option disabled building, in uv's words, when a version has only an sdist.
    build_refusal: str | None = None
    # Versions --exclude-newer left out (newest first, with their upload time), and the cutoff.
    too_new: tuple[tuple[Version, str], ...] = ()
    exclude_newer: str | None = None


class NoSolution(ResolutionError):
    """No set of versions satisfies the inputs.

    ``tree`` is the solver's derivation tree (facts about ``[v, next)`` already read as
    ``==v``); ``versions`` lists, per package of the tree, the versions that exist;
    ``skipped`` what was left out per project name. ``str()`` renders it (:func:`render`).
    """

    def __init__(
        self,
        tree: DerivationTree,
        versions: Mapping[PyPackage, Sequence[Version]],
        skipped: Mapping[str, SkippedVersions],
    ) -> None:
        super().__init__()
        self.tree = tree
        self.versions = versions
        self.skipped = skipped

    def __str__(self) -> str:
        return render(self)


def render(failure: NoSolution) -> str:
    """The explanation in uv's words, then one ``hint:`` line per hint."""
    text = explain(failure.tree, format_package=_format, versions=failure.versions.get)
    hints = hints_for(failure.tree, failure.skipped)
    return "\n".join([text, *hints]) if hints else text


def _format(package: object) -> str:
    return "you" if package == ROOT else str(package)


def hints_for(tree: DerivationTree, skipped: Mapping[str, SkippedVersions]) -> list[str]:
    """One line per hint, each starting with ``hint:``; duplicates removed.

    The explanation says *that* no version fits; a hint says what the user can change:
    a pre-release that would fit, a yanked version, a version needing another Python or
    another platform, a package that is not on the index at all.
    """
    hints: list[str] = []
    for leaf in externals(tree):
        if not isinstance(leaf, NoVersions | UnavailableVersions):
            continue
        package = leaf.package
        if not isinstance(package, PyPackage) or package.name not in skipped:
            continue
        for hint in _package_hints(package.name, leaf.range, skipped[package.name]):
            if hint not in hints:
                hints.append(hint)
    return hints


def _package_hints(name: str, rng: Range[Version], skipped: SkippedVersions) -> list[str]:
    out: list[str] = []
    pre = [v for v in skipped.prereleases if rng.contains(v)]
    if pre:
        out.append(
            f"hint: pre-releases are available for {name} in the requested range "
            f"(e.g., {pre[0]}), but pre-releases weren't enabled (try: `--prerelease=allow`)"
        )
    yanked = [v for v in skipped.yanked if rng.contains(v)]
    if yanked:
        shown = ", ".join(f"{name}=={v}" for v in yanked[:MAX_EXAMPLES])
        out.append(
            f"hint: {shown} {'was' if len(yanked) == 1 else 'were'} yanked; "
            f"pin one with `{name}==VERSION` to use it anyway"
        )
    newer = [(v, when) for v, when in skipped.too_new if rng.contains(v)]
    if newer and skipped.exclude_newer is not None:
        version, when = newer[0]
        out.append(
            f"hint: `{name}` was filtered by `--exclude-newer` to only include packages "
            f"uploaded before {skipped.exclude_newer}. The latest version satisfying the "
            f"requirement is {version}, published at {when}."
        )
    # Versions ruled out for a reason are named by the explanation itself (the provider
    # offers them to the solver as unavailable); what it cannot say is which option made
    # an sdist-only version unusable, which uv adds as a hint.
    no_wheels = [v for v, why in skipped.excluded if why == NO_USABLE_WHEELS and rng.contains(v)]
    if no_wheels and skipped.build_refusal is not None:
        out.append(
            f"hint: Wheels are required for `{name}` because building from source is "
            f"disabled for {skipped.build_refusal}"
        )
    return out
