"""Which versions of a project may be chosen, and which file describes each.

Turns a :class:`ProjectPage` into per-version :class:`Candidate` values, applying
the target (wheel tags, Requires-Python), ``--exclude-newer``, ``--only-binary``
and ``--no-build``. Versions left out keep the reason, so a failed resolution can
say *why* a version that looks right was not usable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, overload

from packaging.version import Version

from xv.env.target import Target
from xv.index.filenames import file_version, parsed_version
from xv.index.pageform import FileList
from xv.index.simple import DistFile, ProjectPage
from xv.records import record

# a leaf module (xv-sync's file policy loads without the page readers); re-exported here
from xv.resolver.binary import BinaryPolicy as BinaryPolicy
from xv.resolver.binary import uploaded_after as uploaded_after

if TYPE_CHECKING:  # the type only: reading pages must not import the HTTP stack
    from xv.index.metadata import CoreMetadata

# uv's words for a version with only an sdist when building is disabled (the hint says why).
NO_USABLE_WHEELS = "has no usable wheels"


@record
class Candidate:
    """One version of a project with the files that may be used for it."""

    version: Version
    files: tuple[DistFile, ...]  # every file of the version (for --generate-hashes)
    metadata_file: DistFile | None  # the file to read core metadata from
    yanked: bool  # every usable file is yanked
    excluded: str | None  # why the version cannot be used at all, else None


class Candidates(Sequence[Candidate]):
    """A project's candidates, newest first, each judged when it is first read.

    A page lists up to tens of thousands of files and a resolution looks at a few
    versions of most projects, so judging a version (decoding its files from the
    cache form, matching their wheel tags) waits until someone reads it.
    """

    __slots__ = ("versions", "_judge", "_judged")

    def __init__(self, versions: list[Version], judge: Callable[[int], Candidate]) -> None:
        self.versions = versions  # newest first; each the version its candidate will hold
        self._judge = judge
        self._judged: list[Candidate | None] = [None] * len(versions)

    def __len__(self) -> int:
        return len(self.versions)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.versions)))]
        if index < 0:
            index += len(self.versions)
        found = self._judged[index]
        if found is None:
            found = self._judged[index] = self._judge(index)
        return found


def candidate_versions(cands: Sequence[Candidate]) -> list[Version]:
    """The versions of ``cands``, in their order, without judging any."""
    return cands.versions if isinstance(cands, Candidates) else [c.version for c in cands]


def map_candidates(
    cands: Sequence[Candidate], change: Callable[[Candidate], Candidate]
) -> Sequence[Candidate]:
    """``change`` applied to each candidate (which must keep its version), lazily if
    ``cands`` is lazy."""
    if isinstance(cands, Candidates):
        return Candidates(cands.versions, lambda i: change(cands[i]))
    return [change(c) for c in cands]


def build_candidates(
    page: ProjectPage,
    target: Target,
    policy: BinaryPolicy,
    exclude_newer: datetime | None = None,
) -> Sequence[Candidate]:
    """Group a page's files by version and judge each version (newest first); lazily
    for a page grouped already (the cache form), unless ``exclude_newer`` must look at
    every file's upload time."""
    files = page.files
    if exclude_newer is None and isinstance(files, FileList):
        # A group's spelling is a Version's own str: parsed while its page was grouped
        # (a cold run) or just now; never None.
        keyed = [
            (parsed_version(spelled) or Version(spelled), key)
            for key, spelled in files.versions().items()
        ]
        keyed.sort(key=lambda vk: vk[0], reverse=True)
        versions = [v for v, _ in keyed]

        def judge(i: int) -> Candidate:
            return _judge(page.name, versions[i], files.of_key(keyed[i][1]), target, policy)

        return Candidates(versions, judge)
    by_version: dict[Version, list[DistFile]] = defaultdict(list)
    for f in page.files:
        version = file_version(page.name, f.filename)
        if version is None:
            continue
        if exclude_newer is not None and uploaded_after(f, exclude_newer):
            continue
        by_version[version].append(f)
    return [
        _judge(page.name, v, tuple(files), target, policy)
        for v, files in sorted(by_version.items(), reverse=True)
    ]


def _judge(
    name: str, version: Version, files: tuple[DistFile, ...], target: Target, policy: BinaryPolicy
) -> Candidate:
    usable_all: list[tuple[int, DistFile]] = []
    reasons: list[str] = []
    for f in files:
        if not target.allows_requires_python(f.requires_python):
            reasons.append(f"requires Python {f.requires_python}")
            continue
        if f.is_wheel:
            if not policy.wheels_allowed(name):
                reasons.append("wheels are not allowed (--no-binary)")
                continue
            prio = target.wheel_priority(f.filename)
            if prio is None:
                reasons.append("has no wheels with a matching platform tag")
                continue
            usable_all.append((prio, f))
        elif policy.sdists_allowed(name):
            usable_all.append((1 << 30, f))
        else:
            reasons.append(NO_USABLE_WHEELS)
    unyanked = [(p, f) for p, f in usable_all if not f.is_yanked]
    usable = unyanked or usable_all
    if not usable:
        reason = reasons[0] if reasons else "has no usable files"
        return Candidate(version, files, None, False, reason)
    return Candidate(version, files, _metadata_file(usable, files), not unyanked, None)


def _metadata_file(usable: list[tuple[int, DistFile]], files: tuple[DistFile, ...]) -> DistFile:
    """Prefer a file with a PEP 658 metadata file, then the best wheel, then an sdist.

    When only the sdist is usable here but the version has wheels for other
    platforms, read one of those: a version's core metadata is the same in all of
    its files in practice, and a wheel is far cheaper to read than an sdist to build.
    """
    best = min(usable, key=lambda pf: (not pf[1].has_metadata_file, pf[0]))[1]
    if best.is_wheel:
        return best
    wheels = [f for f in files if f.is_wheel]
    return min(wheels, key=lambda f: not f.has_metadata_file) if wheels else best


@record
class DirectCandidate:
    """A package given by URL or path (``name @ url``, ``-e ./dir``): its one version.

    ``metadata`` is its core metadata, obtained by the caller, building if it must; ``files`` holds the archive for ``--generate-hashes``.
    """

    url: str
    version: Version
    metadata: CoreMetadata
    files: tuple[DistFile, ...] = ()
    editable: bool = False


def same_url(url: str, direct: DirectCandidate | None) -> bool:
    """Whether a dependency's URL names the direct requirement given for that package
    (uv allows a URL dependency only then); fragments such as ``#sha256=`` aside."""
    if direct is None:
        return False
    return url.split("#")[0].rstrip("/") == direct.url.split("#")[0].rstrip("/") or (
        url.startswith("git+") and direct.url.split("@")[0] == url.split("@")[0]
    )
