"""Render a PubGrub derivation tree as plain English, the way uv does.

The report structure is pubgrub-rs's ``DefaultStringReporter`` (one line per derived
step, ``(1)`` references for steps used twice) with uv's wording: the root package
is "you" ("you require foo>=1.0", "your requirements are unsatisfiable"), ranges
read like specifiers, and conclusions say "we can conclude that ...".

Before rendering, the tree is tidied as uv does: unavailable versions with the
same reason are merged, redundant "no versions" steps are dropped, and, given the
versions that exist (the ``versions`` hook), ranges are widened to the simplest
range holding the same existing versions (``foo>=1.0`` instead of ``foo>=1.0,<1.3``
when 1.2 is the newest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from packaging.version import Version

from xv.records import record
from xv.resolver.pubgrub import (
    DerivationTree,
    Derived,
    External,
    FromDependencyOf,
    NotRoot,
    NoVersions,
    Range,
    Term,
    UnavailableVersions,
    externals,
    reduce,
)
from xv.resolver.specifiers import format_range as format_version_range
from xv.resolver.specifiers import is_local_gap, strip_boundaries

__all__ = ["explain", "simplify_tree", "unavailable_leaves"]

VersionsHook = Callable[[Any], "Sequence[Any] | None"]
_ABSENT = object()


def unavailable_leaves(tree: DerivationTree) -> list[tuple[Any, Range[Any], str | None]]:
    """Every ``(package, range, reason)`` the tree says cannot be had: ``NoVersions``
    leaves (reason ``None``) and ``UnavailableVersions`` leaves, without repeats.
    Callers compute hints from these (pre-releases, yanked, wrong Python...)."""
    out: list[tuple[Any, Range[Any], str | None]] = []
    for leaf in externals(tree):
        if isinstance(leaf, NoVersions):
            item: tuple[Any, Range[Any], str | None] = (leaf.package, leaf.range, None)
        elif isinstance(leaf, UnavailableVersions):
            item = (leaf.package, leaf.range, leaf.reason)
        else:
            continue
        if item not in out:
            out.append(item)
    return out


def explain(
    tree: DerivationTree,
    *,
    format_package: Callable[[Any], str] = str,
    versions: VersionsHook | None = None,
    format_range: Callable[[Range[Any]], str] | None = None,
    root: Any = _ABSENT,
    hints: Iterable[str] = (),
) -> str:
    """The failure as English sentences, one per line, then ``hint: ...`` paragraphs.

    ``versions(package)`` lists the versions that exist (or ``None`` if unknown);
    ``format_range`` renders a range after a package name (default: specifier-like
    text for ``packaging`` versions); ``root`` is the root package, found from the
    tree when not given.
    """
    tree = simplify_tree(tree, versions)
    fmt = _Formatter(
        root=_find_root(tree) if root is _ABSENT else root,
        format_package=format_package,
        format_range=format_range or _default_format_range,
        versions=versions,
    )
    if isinstance(tree, Derived):
        reporter = _Reporter(fmt)
        reporter.build(tree)
        text = "\n".join(reporter.lines)
    else:
        text = _capitalize(fmt.external(tree)) + "."
    for hint in hints:
        text += f"\n\nhint: {hint}"
    return text


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- tree tidying --------------------------------------------------------------


def simplify_tree(tree: DerivationTree, versions: VersionsHook | None = None) -> DerivationTree:
    """uv's reductions of a derivation tree before it is reported."""
    tree = _drop_local_gaps(tree) or tree
    tree = reduce.map_ranges(tree, lambda _, r: strip_boundaries(r))
    tree = reduce.collapse_unavailable_versions(tree)
    tree = reduce.collapse_redundant_depends_on_no_versions(tree)
    if versions is not None:
        hook = versions
        tree = reduce.map_ranges(tree, lambda p, r: _simplify_range(r, p, hook))
    tree = reduce.collapse_redundant_no_versions(tree)
    changed = True
    while changed:
        tree, changed = reduce.collapse_redundant_no_versions_tree(tree)
    return tree


def _simplify_range(range: Range[Any], package: Any, versions: VersionsHook) -> Range[Any]:
    if range.is_full():
        return range
    known = versions(package)
    if not known:
        return range
    if len(known) == 1 and range.contains(known[0]):
        return Range.singleton(known[0])
    return range.simplify(sorted(known))


def _drop_local_gaps(tree: DerivationTree) -> DerivationTree | None:
    """Remove "no versions of foo in (1.0, 1.0+[max])" leaves (uv's
    ``collapse_local_version_segments``): a derived node left with one cause
    becomes that cause."""
    if isinstance(tree, NoVersions):
        return None if is_local_gap(tree.range) else tree
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = _drop_local_gaps(tree.cause1), _drop_local_gaps(tree.cause2)
    if c1 is None or c2 is None:
        return c2 if c1 is None else c1
    return replace(tree, cause1=c1, cause2=c2)


def _find_root(tree: DerivationTree) -> Any:
    """The root package: the single package of the final conclusion, else the only
    package that depends on others but is nobody's dependency."""
    if isinstance(tree, Derived) and len(tree.terms) == 1:
        return next(iter(tree.terms))
    dependers: list[Any] = []
    dependencies: list[Any] = []
    for leaf in externals(tree):
        if isinstance(leaf, NotRoot):
            return leaf.package
        if isinstance(leaf, FromDependencyOf):
            dependers.append(leaf.package)
            dependencies.append(leaf.dependency)
    candidates = [p for p in dependers if p not in dependencies]
    return candidates[0] if candidates and all(c == candidates[0] for c in candidates) else None


# -- phrasing ------------------------------------------------------------------


def _default_format_range(range: Range[Any]) -> str:
    bounds = [b for s in range.segments for b in (s.lower, s.upper) if b is not None]
    if bounds and all(isinstance(b, Version) for b in bounds):
        return format_version_range(range)
    return _generic_format_range(range)


def _generic_format_range(range: Range[Any]) -> str:
    if range.is_full():
        return ""
    if range.is_empty():
        return "∅"
    return str(range).replace(", ", ",")


@record
class _Formatter:
    root: Any
    format_package: Callable[[Any], str]
    format_range: Callable[[Range[Any]], str]
    versions: VersionsHook | None

    # -- package ranges --------------------------------------------------------
    def package_range(self, package: Any, range: Range[Any], kind: str) -> str:
        """``kind``: "compatibility" (full: "all versions of foo"), "dependency" or
        "availability" (full: "foo")."""
        if package == self.root:
            return "your requirements"
        name = self.format_package(package)
        if range.is_full():
            return f"all versions of {name}" if kind == "compatibility" else name
        return f"{name}{self.format_range(range)}"

    def plural(self, range: Range[Any]) -> bool:
        return range.is_full() or len(range) > 1

    def depends_on(
        self, package: Any, range: Range[Any], deps: Sequence[tuple[Any, Range[Any]]]
    ) -> str:
        targets = " and ".join(self.package_range(d, r, "dependency") for d, r in deps)
        if package == self.root:
            return f"you require {targets}"
        verb = "depend on" if self.plural(range) else "depends on"
        return f"{self.package_range(package, range, 'compatibility')} {verb} {targets}"

    # -- externals -------------------------------------------------------------
    def external(self, ext: External) -> str:
        if isinstance(ext, NotRoot):
            return (
                f"we are solving dependencies of {self.format_package(ext.package)} {ext.version}"
            )
        if isinstance(ext, NoVersions):
            return self._no_versions(ext.package, ext.range)
        if isinstance(ext, UnavailableVersions):
            if ext.package == self.root:
                return f"your requirements cannot be used because {ext.reason}"
            if ext.range.is_full():
                return f"{self.format_package(ext.package)} {ext.reason}"
            return f"{self.package_range(ext.package, ext.range, 'compatibility')} {ext.reason}"
        return self.depends_on(ext.package, ext.range, [(ext.dependency, ext.dependency_range)])

    def _no_versions(self, package: Any, range: Range[Any]) -> str:
        name = self.format_package(package)
        if range.is_full():
            return f"there are no versions of {name}"
        if range.as_singleton() is not None:
            return f"there is no version of {name}{self.format_range(range)}"
        available = range.complement()
        known = self.versions(package) if self.versions is not None else None
        if known is not None:
            available = _availability(available, sorted(known))
        if available.is_empty():
            return f"there are no versions of {name}"
        if len(available) == 1:
            return f"only {self.package_range(package, available, 'availability')} is available"
        return (
            f"only the following versions of {name} are available: "
            f"{self.package_range(package, available, 'availability')}"
        )

    def both_externals(self, e1: External, e2: External) -> str:
        if (
            isinstance(e1, FromDependencyOf)
            and isinstance(e2, FromDependencyOf)
            and e1.package == e2.package
            and e1.range == e2.range
        ):
            # Only facts about the same versions share a sentence: "foo>=2 depends on
            # bar>=2 and baz" must not absorb what foo<2 depends on (uv's rule).
            deps = [(e1.dependency, e1.dependency_range), (e2.dependency, e2.dependency_range)]
            return self.depends_on(e1.package, e1.range, deps)
        return f"{self.external(e1)} and {self.external(e2)}"

    # -- terms -----------------------------------------------------------------
    def terms(self, terms: Mapping[Any, Term[Any]]) -> str:
        items = sorted(
            terms.items(), key=lambda kv: (kv[0] != self.root, self.format_package(kv[0]))
        )
        if not items:
            return "the requirements are unsatisfiable"
        if len(items) == 1:
            package, term = items[0]
            if package == self.root:
                return "your requirements are unsatisfiable"
            text = self.package_range(package, term.range, "compatibility")
            return f"{text} cannot be used" if term.positive else f"{text} must be used"
        if len(items) == 2 and items[0][1].positive != items[1][1].positive:
            (p1, t1), (p2, t2) = items if items[0][1].positive else items[::-1]
            return self.depends_on(p1, t1.range, [(p2, t2.range)])
        parts = [self._term(p, t) for p, t in items]
        joined = " and ".join(parts) if len(parts) == 2 else ", ".join(parts)
        return f"{joined} are incompatible"

    def _term(self, package: Any, term: Term[Any]) -> str:
        if term.positive:
            return self.package_range(package, term.range, "compatibility")
        single = term.range.as_singleton()
        if single is not None:
            return f"{self.format_package(package)}!={single}"
        return self.package_range(package, term.range.complement(), "compatibility")


def _availability(range: Range[Any], known: Sequence[Any]) -> Range[Any]:
    """uv's ``update_availability_range``: fit the available range to the known versions."""
    if not known:
        return Range.empty()
    first, last = known[0], known[-1]
    hull = Range.from_bounds(first, True, last, True)
    if not (first < last):
        return hull if range.contains(first) else Range.empty()
    out: Range[Any] = Range.empty()
    for lo, lo_i, hi, hi_i in range.segments:
        seg = Range.from_bounds(lo, lo_i, hi, hi_i)
        if seg.is_disjoint(hull):
            continue
        if hull.subset_of(seg):
            if lo is None:
                piece = Range.from_bounds(None, False, last, True)
            elif hi is None:
                piece = Range.from_bounds(first, True, None, False)
            else:
                piece = hull
        else:
            piece = Range.from_bounds(lo, lo_i and lo in known, hi, hi_i and hi in known)
        out = out.union(piece)
    return out


# -- the report ----------------------------------------------------------------


class _Reporter:
    """pubgrub-rs's DefaultStringReporter with uv's sentences."""

    def __init__(self, fmt: _Formatter) -> None:
        self.fmt = fmt
        self.lines: list[str] = []
        self.ref_count = 0
        self.refs: dict[int, int] = {}  # shared id -> line reference

    def build(self, derived: Derived[Any, Any]) -> None:
        self._build_helper(derived)
        if derived.shared_id is not None and derived.shared_id not in self.refs:
            self._add_line_ref()
            self.refs[derived.shared_id] = self.ref_count

    def _ref(self, derived: Derived[Any, Any]) -> int | None:
        return None if derived.shared_id is None else self.refs.get(derived.shared_id)

    def _add_line_ref(self) -> None:
        self.ref_count += 1
        if self.lines:
            self.lines[-1] = f"{self.lines[-1]} ({self.ref_count})"

    def _build_helper(self, current: Derived[Any, Any]) -> None:
        c1, c2 = current.cause1, current.cause2
        if not isinstance(c1, Derived) and not isinstance(c2, Derived):
            self.lines.append(self._both_external(c1, c2, current.terms))
        elif isinstance(c1, Derived) and not isinstance(c2, Derived):
            self._one_each(c1, c2, current.terms)
        elif isinstance(c2, Derived) and not isinstance(c1, Derived):
            self._one_each(c2, c1, current.terms)
        else:
            assert isinstance(c1, Derived) and isinstance(c2, Derived)
            self._both_derived(current, c1, c2)

    def _both_derived(
        self, current: Derived[Any, Any], d1: Derived[Any, Any], d2: Derived[Any, Any]
    ) -> None:
        ref1, ref2 = self._ref(d1), self._ref(d2)
        if ref1 is not None and ref2 is not None:
            self.lines.append(self._both_ref(ref1, d1, ref2, d2, current.terms))
        elif ref1 is not None:
            self.build(d2)
            self.lines.append(self._and_ref(ref1, d1, current.terms))
        elif ref2 is not None:
            self.build(d1)
            self.lines.append(self._and_ref(ref2, d2, current.terms))
        else:
            self.build(d1)
            if d1.shared_id is not None:
                self.lines.append("")
                self.build(current)
            else:
                self._add_line_ref()
                ref1 = self.ref_count
                self.lines.append("")
                self.build(d2)
                self.lines.append(self._and_ref(ref1, d1, current.terms))

    def _one_each(
        self, derived: Derived[Any, Any], external: External, terms: Mapping[Any, Term[Any]]
    ) -> None:
        ref = self._ref(derived)
        if ref is not None:
            self.lines.append(self._ref_and_external(ref, derived, external, terms))
            return
        p1, p2 = derived.cause1, derived.cause2
        if isinstance(p1, Derived) and not isinstance(p2, Derived):
            self.build(p1)
            self.lines.append(self._and_prior_and_external(p2, external, terms))
        elif isinstance(p2, Derived) and not isinstance(p1, Derived):
            self.build(p2)
            self.lines.append(self._and_prior_and_external(p1, external, terms))
        else:
            self.build(derived)
            self.lines.append(self._and_external(external, terms))

    # -- sentences -------------------------------------------------------------
    def _both_external(self, e1: External, e2: External, terms: Mapping[Any, Term[Any]]) -> str:
        f = self.fmt
        return f"Because {f.both_externals(e1, e2)}, we can conclude that {f.terms(terms)}."

    def _both_ref(
        self,
        r1: int,
        d1: Derived[Any, Any],
        r2: int,
        d2: Derived[Any, Any],
        terms: Mapping[Any, Term[Any]],
    ) -> str:
        f = self.fmt
        return (
            f"Because we know from ({r1}) that {f.terms(d1.terms)} and we know from ({r2}) "
            f"that {f.terms(d2.terms)}, {f.terms(terms)}."
        )

    def _ref_and_external(
        self,
        ref: int,
        derived: Derived[Any, Any],
        external: External,
        terms: Mapping[Any, Term[Any]],
    ) -> str:
        f = self.fmt
        return (
            f"Because we know from ({ref}) that {f.terms(derived.terms)} and "
            f"{f.external(external)}, we can conclude that {f.terms(terms)}."
        )

    def _and_external(self, external: External, terms: Mapping[Any, Term[Any]]) -> str:
        f = self.fmt
        return f"And because {f.external(external)}, we can conclude that {f.terms(terms)}."

    def _and_ref(self, ref: int, derived: Derived[Any, Any], terms: Mapping[Any, Term[Any]]) -> str:
        f = self.fmt
        return (
            f"And because we know from ({ref}) that {f.terms(derived.terms)}, "
            f"we can conclude that {f.terms(terms)}."
        )

    def _and_prior_and_external(
        self, prior: External, external: External, terms: Mapping[Any, Term[Any]]
    ) -> str:
        f = self.fmt
        return (
            f"And because {f.both_externals(prior, external)}, "
            f"we can conclude that {f.terms(terms)}."
        )
