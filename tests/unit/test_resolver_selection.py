"""The candidate selector and uv's batch prefetch schedule, without an index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.version import Version

from xv.env.target import make_target
from xv.errors import NetworkError
from xv.index.metadata import CoreMetadata
from xv.index.pageform import page_from_plain, page_to_plain
from xv.index.simple import DistFile, ProjectPage
from xv.resolver import provider as prov
from xv.resolver.candidates import BinaryPolicy, Candidate, Candidates, build_candidates
from xv.resolver.prefetch import MAX_BATCH, BatchPrefetcher, next_candidates
from xv.resolver.provider import MetadataSource
from xv.resolver.pubgrub import Range, Unavailable
from xv.resolver.resolve import run
from xv.resolver.result import Parent
from xv.resolver.selector import (
    ALWAYS,
    IF_NECESSARY,
    NEVER,
    CandidateSelector,
    SelectionPolicy,
)

V = Version


def cands(*versions: str, yanked: tuple[str, ...] = ()) -> list[Candidate]:
    """Newest first, as build_candidates gives them."""
    out = []
    for v in sorted(versions, key=Version, reverse=True):
        f = DistFile(f"p-{v}-py3-none-any.whl", f"https://x/p-{v}-py3-none-any.whl")
        out.append(Candidate(Version(v), (f,), f, v in yanked, None))
    return out


def chosen(sel: CandidateSelector, rng: Range[Version]) -> str | None:
    c = sel.select(rng)
    return None if c is None else str(c.version)


def test_prerelease_rules_and_yanked() -> None:
    all_ = cands("1.0", "2.0", "3.0b1", "2.1", yanked=("2.1",))
    full: Range[Version] = Range.full()
    assert chosen(CandidateSelector(all_, SelectionPolicy(prerelease=ALWAYS)), full) == "3.0b1"
    assert chosen(CandidateSelector(all_, SelectionPolicy(prerelease=NEVER)), full) == "2.0"
    assert chosen(CandidateSelector(all_, SelectionPolicy()), full) == "2.0"
    above = Range.higher_than(V("2.5"))
    assert chosen(CandidateSelector(all_, SelectionPolicy()), above) == "3.0b1"
    # a yanked stable version in range still counts as "a stable version exists"
    yanked_only = Range.between(V("2.1"), V("2.2")).union(Range.singleton(V("3.0b1")))
    assert chosen(CandidateSelector(all_, SelectionPolicy()), yanked_only) is None
    pinned = SelectionPolicy(prerelease=IF_NECESSARY, allow_yanked=True)
    assert chosen(CandidateSelector(all_, pinned), yanked_only) == "2.1"
    assert chosen(CandidateSelector(all_, SelectionPolicy(lowest=True)), full) == "1.0"
    prefer = SelectionPolicy(preferred=V("1.0"))
    assert chosen(CandidateSelector(all_, prefer), full) == "1.0"
    assert chosen(CandidateSelector(all_, prefer), Range.higher_than(V("2"))) == "2.0"
    pre, yanked = CandidateSelector(all_, SelectionPolicy()).skipped(full)
    assert (pre, yanked) == ([V("3.0b1")], [V("2.1")])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=25, unique=True),
    st.lists(st.integers(0, 30), max_size=25, unique=True),
    st.booleans(),
)
def test_compatible_bisects_to_the_same_answer_as_a_scan(
    versions: list[int], rejected: list[int], lowest: bool
) -> None:
    newest_first = cands(*map(str, versions))
    sel = CandidateSelector(newest_first, SelectionPolicy(lowest=lowest))
    rng: Range[Version] = Range.full()
    for r in rejected:  # a range full of holes, as after many rejections
        rng = rng.difference(Range.singleton(V(str(r))))
    scan = sorted((V(str(v)) for v in versions), reverse=not lowest)
    expected = [v for v in scan if rng.contains(v)]
    assert [c.version for c in sel.compatible(rng)] == expected


def test_a_page_from_the_cache_is_judged_only_as_far_as_selections_reach() -> None:
    names = [f"demo-{v}-py3-none-any.whl" for v in ("1.0", "2.0", "2.1", "3.0b1", "1.5")]
    page = ProjectPage("demo", tuple(DistFile(n, f"https://x/{n}") for n in names), "https://x/")
    cached = page_from_plain(page_to_plain(page))
    lazy = build_candidates(cached, make_target(), BinaryPolicy())
    assert isinstance(lazy, Candidates)
    assert [str(v) for v in lazy.versions] == ["3.0b1", "2.1", "2.0", "1.5", "1.0"]
    sel = CandidateSelector(lazy, SelectionPolicy())
    assert chosen(sel, Range.full()) == "2.1"
    assert [c is not None for c in lazy._judged] == [True, True, False, False, False]
    assert cached.files._decoded.keys() == {"3b1", "2.1"}  # type: ignore[attr-defined]
    eager = build_candidates(page, make_target(), BinaryPolicy())
    assert list(lazy) == list(eager)


def barred_cands(versions: list[int], barred: set[int], pre: set[int]) -> list[Candidate]:
    """Newest first; ``barred`` versions unusable, ``pre`` ones pre-releases (``N.0b1``)."""
    out = []
    for v in sorted(versions, reverse=True):
        text = f"{v}.0b1" if v in pre else f"{v}.0"
        f = DistFile(f"p-{text}-py3-none-any.whl", f"https://x/p-{text}-py3-none-any.whl")
        out.append(Candidate(V(text), (f,), f, False, "why" if v in barred else None))
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=15, unique=True),
    st.sets(st.integers(0, 20)),
    st.sets(st.integers(0, 20)),
    st.lists(st.integers(0, 20), max_size=8),
    st.booleans(),
    st.booleans(),
)
def test_passed_over_is_the_first_barred_version_before_the_choice(
    versions: list[int],
    barred: set[int],
    pre: set[int],
    holes: list[int],
    lowest: bool,
    pre_ok: bool,
) -> None:
    """The lazy walk gives what scanning every barred version in the range gave (the
    provider's former eager list), judging nothing past the choice."""
    newest_first = barred_cands(versions, barred, pre)
    lazy = Candidates([c.version for c in newest_first], lambda i: newest_first[i])
    sel = CandidateSelector(lazy, SelectionPolicy(lowest=lowest, prerelease=ALWAYS))
    rng: Range[Version] = Range.full()
    for h in holes:
        rng = rng.difference(Range.between(V(f"{h}.0b1"), V(f"{h}.0.post1")))
    pick = sel.select(rng)
    order = sorted(newest_first, key=lambda c: c.version, reverse=not lowest)
    expected = None
    for c in order:
        if not rng.contains(c.version) or c.excluded is None:
            continue
        if pick is not None and (c.version > pick.version if lowest else c.version < pick.version):
            break
        if pre_ok or not c.version.is_prerelease:
            expected = c
            break
    judged_by_select = [j is not None for j in lazy._judged]
    assert sel.passed_over(rng, pick, pre_ok) == expected
    if pick is not None:  # the walk stops at the choice: nothing beyond it is judged
        assert [j is not None for j in lazy._judged] == judged_by_select


def test_batch_prefetch_schedule_like_uv_then_growing() -> None:
    pre = BatchPrefetcher()
    due = []
    for n in range(1, 400):
        pre.version_tried("boto3", V(f"1.{n}"))
        size = pre.due("boto3")
        if size:
            due.append((n, size))
    assert due[:4] == [(2, 4), (5, 10), (10, 20), (20, 40)]
    assert all(size <= MAX_BATCH for _, size in due)
    assert len(due) < 12  # a few large batches, not one per version
    pre.version_tried("extra-free", V("1"))
    assert pre.due("extra-free") == 0


def test_next_candidates_finish_the_range_then_go_on_in_order() -> None:
    sel = CandidateSelector(cands(*[f"1.{n}" for n in range(10)]), SelectionPolicy())
    rng = Range.between(V("1.5"), V("1.8"))  # 1.5, 1.6, 1.7
    got = next_candidates(sel, rng, V("1.7"), Range.higher_than(V("1.2")), 10)
    assert [str(c.version) for c in got] == ["1.6", "1.5", "1.4", "1.3", "1.2"]
    assert len(next_candidates(sel, rng, V("1.7"), Range.full(), 2)) == 2


class FlakySource(MetadataSource):
    """An index in memory whose metadata of ``b 2.0`` cannot be fetched."""

    REQS = {("a", "1.0"): ("b",), ("b", "1.0"): (), ("b", "2.0"): ()}

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        out: dict[str, ProjectPage | None] = {}
        for name in names:
            files = [
                DistFile(f"{n}-{v}-py3-none-any.whl", f"https://x/{n}-{v}-py3-none-any.whl")
                for n, v in self.REQS
                if n == name
            ]
            out[name] = ProjectPage(name, tuple(files), "https://x/") if files else None
        return out

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        if any(str(c.version) == "2.0" for c in cands):
            raise NetworkError("connection reset", "https://x/b-2.0-py3-none-any.whl")
        return self.known(cands)

    def known(self, cands: Sequence[Candidate]) -> dict[str, CoreMetadata | Unavailable]:
        """The metadata of ``cands`` from ``REQS``."""
        out: dict[str, CoreMetadata | Unavailable] = {}
        for c in cands:
            assert c.metadata_file is not None
            name = c.metadata_file.filename.split("-")[0]
            reqs = self.REQS[(name, str(c.version))]
            out[c.metadata_file.url] = CoreMetadata(name, str(c.version), reqs, None, ())
        return out


def test_a_failed_guess_does_not_fail_the_resolution() -> None:
    # Prefetching a's dependencies guesses b 2.0, whose metadata cannot be fetched;
    # the solver never needs it (b<2), so the resolution must not fail on it.
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement(r), Parent("requirement", "-")) for r in ("a", "b<2")]
    )
    provider = prov.PythonProvider(inputs, prov.ResolverSettings(), make_target(), FlakySource())
    assert {d.name: str(d.version) for d in run(provider).dists} == {"a": "1.0", "b": "1.0"}


class ExtraSource(FlakySource):
    """c needs k>=3 and k's extra r, whose k 3.0 needs p==1.0, which x 2.0 rules out.
    The metadata of k 2.0 and k 1.0 cannot be had (an sdist whose build fails, say)."""

    REQS = {
        ("x", "1.0"): ("p",),
        ("x", "2.0"): ("p==2.0",),
        ("p", "1.0"): (),
        ("p", "2.0"): (),
        ("c", "1.0"): ("k>=3.0", "k[r]"),
        ("k", "1.0"): (),
        ("k", "2.0"): (),
        ("k", "3.0"): ('p==1.0; extra == "r"',),
    }

    def __init__(self) -> None:
        self.asked: list[str] = []

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        for c in cands:
            assert c.metadata_file is not None
            self.asked.append(f"{c.metadata_file.filename.split('-')[0]} {c.version}")
            if self.asked[-1] in ("k 1.0", "k 2.0"):
                raise NetworkError("the build failed", c.metadata_file.url)
        return self.known(cands)


def test_an_extra_is_not_tried_at_versions_its_project_cannot_take() -> None:
    # k[r] 3.0 conflicts with p 2.0 (x 2.0): the solver must give x up, not read k[r] 2.0
    # and 1.0, whose metadata it cannot have (k>=3 rules them out anyway). It read them
    # before, one after the other, and a compile failed on the first that needed a build.
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement(r), Parent("requirement", "-")) for r in ("x", "c")]
    )
    source = ExtraSource()
    provider = prov.PythonProvider(inputs, prov.ResolverSettings(), make_target(), source)
    got = {d.name: str(d.version) for d in run(provider).dists}
    assert got == {"x": "1.0", "p": "1.0", "c": "1.0", "k": "3.0"}
    assert "k 2.0" not in source.asked and "k 1.0" not in source.asked
