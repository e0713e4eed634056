"""The cache form of a project page: files grouped by version, decoded only when read.

A warm run reads hundreds of pages, some with tens of thousands of files, and most
of it never looks at more than a few versions of each: ``xv-compile --check``
wants the pinned version's files only, and a resolution usually settles on one of
the newest versions. So the cache keeps each version's rows as a separate msgpack
blob (decoding the page then costs a few copies of bytes), and :class:`FileList`
turns a blob into :class:`~xv.index.simple.DistFile` values the first time it is
read. Each group keeps the positions of its files on the page, so the files come back
in the order the index listed them, whichever way they are read.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, overload

import msgpack
from packaging.version import InvalidVersion, Version

from xv.errors import XvError
from xv.index.filenames import file_version, parse_file_version, parsed_version, usual_version_text
from xv.index.jsonpage import content_type_is_json, scan_json_rows
from xv.names import canonicalize_name

if TYPE_CHECKING:  # made where read: a page worker imports this module, not the records
    from xv.index.simple import DistFile, ProjectPage

# Bump when the layout below changes; page_from_plain refuses other versions (a miss).
PLAIN_FORMAT = 3  # 3: each group keeps its version as spelled by its first file
_ROW_FIELDS = 8  # DistFile's fields, in order


class FileList(Sequence["DistFile"]):
    """A page's files read from the cache: decoded a version at a time, on first use."""

    __slots__ = ("_groups", "_spelled", "_decoded", "_all", "_elsewhere")

    def __init__(
        self,
        groups: dict[str, tuple[Sequence[int], bytes]],
        spelled: dict[str, str] | None = None,
        elsewhere: Elsewhere | None = None,
    ) -> None:
        self._groups = groups  # version key -> (positions on the page, msgpack blob of rows)
        self._spelled = spelled or {}  # version key -> the version as its first file gives it
        self._decoded: dict[str, tuple[DistFile, ...]] = {}
        self._all: tuple[DistFile, ...] | None = None
        # Groups whose blob (b"" here) is in the page's cache entry (see Elsewhere).
        self._elsewhere = elsewhere

    def versions(self) -> dict[str, str]:
        """Each version's group key and the version as the first of its files (in page
        order) spells it, for every group that names a version; nothing is decoded."""
        return {key: self._spelled.get(key, key) for key in self._groups if key}

    def of_key(self, key: str) -> tuple[DistFile, ...]:
        """The files of the group ``key`` (as :meth:`versions` gives it), in page order."""
        return self._group(key)

    def of_version(self, version: Version | str) -> tuple[DistFile, ...]:
        """The files of one version (empty when there are none), decoding only those."""
        return self._group(version_key(str(version)))

    @property
    def files(self) -> tuple[DistFile, ...]:
        if self._all is None:
            placed: list[DistFile | None] = [None] * sum(len(p) for p, _ in self._groups.values())
            for key, (positions, _) in self._groups.items():
                for position, f in zip(positions, self._group(key), strict=True):
                    placed[position] = f
            self._all = tuple(f for f in placed if f is not None)
        return self._all

    def _group(self, key: str) -> tuple[DistFile, ...]:
        found = self._decoded.get(key)
        if found is None:
            entry = self._groups.get(key)
            if entry is not None and not entry[1] and self._elsewhere is not None:
                self._fetch_elsewhere()
                entry = self._groups[key]
            found = _decode_rows(entry[1], len(entry[0])) if entry is not None else ()
            self._decoded[key] = found
        return found

    def _fetch_elsewhere(self) -> None:
        """Read the groups left in the page's cache entry, each checked against its digest."""
        elsewhere, self._elsewhere = self._elsewhere, None
        assert elsewhere is not None
        plain = elsewhere.load()
        found = {}
        try:
            for key, _, pos, blob in plain[4] if plain is not None else ():
                if str(key) in elsewhere.digests:
                    found[str(key)] = (pos, bytes(blob))
        except (TypeError, ValueError):
            found = {}
        for key, digest in elsewhere.digests.items():
            positions, _ = self._groups[key]
            pos, blob = found.get(key, ((), b""))
            if group_digest(blob) != digest or list(pos) != list(positions):
                raise XvError(
                    f"the cached index page of {elsewhere.name} changed while xv was reading "
                    "it (another xv process?); run again"
                )
            self._groups[key] = (positions, blob)

    def __len__(self) -> int:
        return len(self.files)

    @overload
    def __getitem__(self, index: int) -> DistFile: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[DistFile, ...]: ...
    def __getitem__(self, index: int | slice) -> DistFile | tuple[DistFile, ...]:
        return self.files[index]

    def __iter__(self) -> Iterator[DistFile]:
        return iter(self.files)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self.files == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.files)

    def __repr__(self) -> str:
        return f"FileList({list(self._groups)!r})"


def files_of_version(page: ProjectPage, version: Version) -> tuple[DistFile, ...]:
    """The files of ``page`` that belong to ``version`` (cheap for a page from the cache)."""
    if isinstance(page.files, FileList):
        return page.files.of_version(version)
    key = version_key(str(version))
    return tuple(f for f in page.files if file_version_key(page.name, f.filename) == key)


def version_key(text: str) -> str:
    """The group a version belongs to: equal versions (``1.0``, ``1.0.0``) share one."""
    try:
        return canonical_version(Version(text))
    except InvalidVersion:
        return ""


def canonical_version(version: Version) -> str:
    """``packaging.utils.canonicalize_version(version)``: the version as packaging writes
    it, without the release's trailing zeros. Written from the public fields (as
    ``Version.__str__`` writes them) because packaging.utils loads packaging.tags (~15 ms
    of a sync's start-up); tests/unit/test_pageform.py checks it against packaging.

    >>> canonical_version(Version("1.0.0")), canonical_version(Version("2!1.2.0rc1.post0.dev0+Loc"))
    ('1', '2!1.2rc1.post0.dev0+loc')
    """
    release = list(version.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    parts = [f"{version.epoch}!" if version.epoch else "", ".".join(map(str, release))]
    if version.pre is not None:
        parts.append(f"{version.pre[0]}{version.pre[1]}")
    if version.post is not None:
        parts.append(f".post{version.post}")
    if version.dev is not None:
        parts.append(f".dev{version.dev}")
    if version.local is not None:
        parts.append(f"+{version.local}")
    return "".join(parts)


# A release alone, without leading zeros ("2.10.1"): packaging spells it as it is written,
# and its key is :func:`canonical_version`'s (tests/unit/test_pageform.py checks both).
# Numbers of up to 18 digits: a longer one is parsed as before (Python refuses to read an
# int of over 4,300 digits, and packaging's error for it is its own).
_PLAIN_RELEASE = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.(?:0|[1-9][0-9]{0,17}))*")


def release_key(text: str) -> str:
    """:func:`version_key` of a plain release (:data:`_PLAIN_RELEASE`), without parsing
    it: its trailing zeros dropped (a page lists thousands of versions, each a
    ``Version`` of ~4 us to parse, and a worker ranks them all, see :func:`newest_only`).

    >>> release_key("1.0.0"), release_key("10.0"), release_key("0.0"), release_key("2.10")
    ('1', '10', '0', '2.10')
    """
    while text.endswith(".0"):
        text = text[:-2]
    return text


def file_version_key(project: str, filename: str) -> str:
    """:func:`version_key` of a file's version; "" when the filename names no version."""
    version = file_version(project, filename)
    return canonical_version(version) if version is not None else ""


def page_to_plain(page: ProjectPage, only: str | None = None) -> tuple[Any, ...]:
    """``(format, name, index_url, versions, ((key, spelled, positions, rows blob), ...))``:
    one group per version (its canonical key and its first file's spelling of it).
    ``only``: the group of that version key alone (see :func:`plain_from_body`)."""
    groups = _Groups(page.name, only)
    for f in page.files:
        groups.add(
            (f.filename, f.url, f.hashes, f.requires_python, f.yanked, f.upload_time, f.size,
             f.metadata_hashes)
        )  # fmt: skip
    return groups.plain(page.name, page.index_url, page.versions)


def plain_from_body(
    body: bytes | str,
    content_type: str,
    page_url: str,
    name: str,
    index_url: str,
    in_place: bool = False,
    only: str | None = None,
) -> tuple[Any, ...]:
    """:func:`page_to_plain` of :func:`~xv.index.simple.parse_page`'s page, the same value;
    a JSON page's files go from the body to their groups one at a time, packed as they
    come, never as :class:`DistFile` values nor as a list of every file (a page lists up
    to tens of thousands, and a resolution reads a few). ``in_place``: a JSON page's blobs
    are the buffers its rows were packed into (bytearrays, the same bytes), not copies of
    them: for a page worker, which only writes and sends them (see :meth:`_Groups.plain`).

    ``only``: a partial page, the files of the version with that key (:func:`version_key`)
    alone, numbered from 0 (what a sync reads of a pin's page: a JSON page's other entries
    are decoded and dropped, never made rows nor packed; 87 MB of pages for a 325-pin lock
    took 0.95 s of CPU whole, 0.62 s so). Never to be cached: it is not the page."""
    if not content_type_is_json(content_type):
        from xv.index.simple import parse_page

        page = parse_page(body, content_type, page_url, name, index_url=index_url)
        return page_to_plain(page, only)
    project = canonicalize_name(name)
    groups = _Groups(project, only)
    versions = scan_json_rows(body, page_url, groups.add, groups.keeps if only is not None else None)  # fmt: skip
    return groups.plain(project, index_url, versions, in_place)


class _Groups:
    """A page's rows grouped by version as they come, each packed at once: a group's
    blob is the msgpack array of its rows, byte for byte what packing the list of them
    gives, so the cache form is the same whichever way it is made."""

    __slots__ = ("_project", "_only", "_keys", "_releases", "_wheels", "_groups", "_count", "_pack")  # fmt: skip

    def __init__(self, project: str, only: str | None = None) -> None:
        self._project = canonicalize_name(project)
        self._only = only  # the one version key kept (a partial page), or None: all
        # A page lists dozens of files per version: each version's key and spelling are
        # made once...
        self._keys: dict[Version | None, tuple[str, str]] = {}
        # ...and a plain release's ("2.10.1", most of them) from its text alone, unparsed.
        self._releases: dict[str, tuple[str, str]] = {}
        # ...and each wheel's group once per "name-version[-build]" (the rest of its
        # name is its tags): the version of the first wheel is parsed, the others'
        # not. (Wheels are most of a page's files.)
        self._wheels: dict[str, tuple[str, str]] = {}
        # key -> (spelled, positions, packed rows): the rows packed into one growing buffer
        # a group, not kept as a small bytes object each (15,000 for pydantic-core's page,
        # scattered over the allocator's small-object arenas, which stayed resident after).
        self._groups: dict[str, tuple[str, list[int], bytearray]] = {}
        self._count = 0
        self._pack = msgpack.Packer(use_bin_type=True).pack

    def add(self, row: tuple[Any, ...]) -> None:
        key, spelled = self._key_of(row[0])
        if self._only is not None and key != self._only:
            return
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = (spelled, [], bytearray())
        group[1].append(self._count)
        group[2].extend(self._pack(row))
        self._count += 1

    def keeps(self, filename: str) -> bool:
        """Whether a file of that name belongs in the partial page (``only``)."""
        return self._key_of(filename)[0] == self._only

    def _key_of(self, filename: str) -> tuple[str, str]:
        if filename.endswith(".whl"):
            # parse_file_version takes a wheel's name and version from the same dashes
            # (only when there are 4 or 5 of them: a head holding 1 or 2, the same for
            # every name with that head), so its answer depends on the head alone.
            head = filename.rsplit("-", 3)[0]
            found = self._wheels.get(head)
            if found is None:
                found = self._wheels[head] = self._group_of(filename)
            return found
        return self._group_of(filename)

    def _group_of(self, filename: str) -> tuple[str, str]:
        """The group key of a file and its version as spelled ("" for no version)."""
        text = usual_version_text(self._project, filename)
        if text is not None and _PLAIN_RELEASE.fullmatch(text):
            found = self._releases.get(text)
            if found is None:
                found = self._releases[text] = (release_key(text), text)
            return found
        version = parse_file_version(self._project, filename)
        found = self._keys.get(version)
        if found is None:
            found = self._keys[version] = (
                (canonical_version(version), str(version)) if version is not None else ("", "")
            )
        return found

    def plain(
        self, name: str, index_url: str, versions: tuple[str, ...], in_place: bool = False
    ) -> tuple[Any, ...]:
        """The cache form; ``in_place``: each blob is its group's buffer, the array header
        put in front of its rows (a page's rows are not held twice, ~5 MB for
        pydantic-core's), else a bytes copy."""
        header = msgpack.Packer(use_bin_type=True).pack_array_header
        blobs: list[tuple[str, str, list[int], bytes | bytearray]] = []
        for key, (spelled, positions, packed) in self._groups.items():
            if in_place:
                packed[:0] = header(len(positions))
                blobs.append((key, spelled, positions, packed))
            else:
                blobs.append((key, spelled, positions, b"".join((header(len(positions)), packed))))
                del packed[:]  # in the blob now: not held twice until the last is joined
        return (PLAIN_FORMAT, name, index_url, versions, tuple(blobs))


class Elsewhere:
    """Where the groups a page worker did not send are (:mod:`xv.index.pageworker`): the
    page's cache entry, read by ``load`` (its cache form, or None) when one of them is
    first wanted, each group checked against the digest the worker gave for it, since
    another process may have written the entry since."""

    __slots__ = ("name", "load", "digests")

    def __init__(self, name: str, load: Callable[[], Any], digests: dict[str, bytes]) -> None:
        self.name = name
        self.load = load
        self.digests = digests  # version key -> group_digest of its blob


def group_digest(blob: bytes) -> bytes:
    """What a page worker gives for a group it leaves in the cache entry: the group's
    length and CRC-32. It tells whether the entry read later holds the same group, when
    another xv process has replaced the entry meanwhile (a page fetched a moment later:
    most groups the same, the fetch time not); the entry itself is checked by its
    envelope's blake2b when read (:func:`xv.envelope.decode_entry`). A cryptographic digest
    would add nothing against a writer of the cache, who can replace any entry, and cost
    more: a worker computes one for most of each page (blake2b took 26 ms more of a
    worker's CPU over airflow's pages, 15 ms over data-science's).

    >>> group_digest(b"abc").hex()
    '0000000000000003352441c2'
    """
    return len(blob).to_bytes(8, "big") + zlib.crc32(blob).to_bytes(4, "big")


def newest_only(plain: tuple[Any, ...], keep: int) -> tuple[tuple[Any, ...], dict[str, bytes]]:
    """``plain`` with the blobs of all but its ``keep`` newest final releases left out
    (b""), and the digests of those left out: what a page worker sends, the whole page
    being in its cache entry. A resolution reads the newest versions of most projects and
    never the others: data-science's pages hold 1,700 versions' files, 24 MB. Pre-releases
    count only where fewer than ``keep`` versions are final: a resolution passes over them
    unless asked, and httpx's three 1.0 dev releases, newest of its page, took the places
    of the versions it then read from the entry."""
    fmt, name, index_url, versions, blobs = plain
    releases: list[tuple[tuple[int, ...], str, str]] = []
    others: list[tuple[str, str]] = []
    for key, spelled, _, _ in blobs:
        if key and _PLAIN_RELEASE.fullmatch(spelled):
            releases.append((tuple(map(int, spelled.split("."))), spelled, key))
        elif key:
            others.append((spelled, key))
    # Plain releases are final and ordered as their numbers: only the newest ``keep`` of
    # them can be kept, so only those are parsed (a page lists thousands).
    releases.sort()
    ranked = sorted(
        (not version.is_prerelease, version, key)
        for version, key in (
            (parsed_version(spelled) or Version("0"), key)
            for spelled, key in (*((spelled, key) for _, spelled, key in releases[-keep:]), *others)
        )
    )
    kept = {key for _, _, key in ranked[-keep:]}
    left: dict[str, bytes] = {}
    out = []
    for key, spelled, positions, blob in blobs:
        if key not in kept:
            left[key] = group_digest(blob)
            blob = b""
        out.append((key, spelled, positions, blob))
    return (fmt, name, index_url, versions, tuple(out)), left


def page_from_plain(obj: Any, elsewhere: Elsewhere | None = None) -> ProjectPage:
    """Inverse of :func:`page_to_plain`; accepts lists for tuples (as msgpack may give).

    Only the outer layout is checked here (a version's rows are decoded when read);
    :class:`ValueError` for anything else, so a stale or damaged entry is a miss.
    ``elsewhere``: the groups a page worker left out (:func:`newest_only`) and where they are.
    """
    from xv.index.simple import ProjectPage

    try:
        version, name, index_url, versions, blobs = obj
        if version != PLAIN_FORMAT:
            raise ValueError(f"cached page format {version!r}, expected {PLAIN_FORMAT}")
        groups: dict[str, tuple[Sequence[int], bytes]] = {}
        spelled: dict[str, str] = {}
        for key, spelling, pos, blob in blobs:
            groups[str(key)] = (_positions(pos), bytes(blob))
            spelled[str(key)] = str(spelling)
        count = sum(len(pos) for pos, _ in groups.values())
        # Checked without a Python step per file (a cold run reads each page it fetched
        # back this way, ~55,000 files for data-science).
        if sorted(chain.from_iterable(pos for pos, _ in groups.values())) != list(range(count)):
            raise ValueError("file positions do not cover the page")
        if elsewhere is not None and any(
            bool(blob) == (key in elsewhere.digests) for key, (_, blob) in groups.items()
        ):
            raise ValueError("the groups left out are not the ones given")
        return ProjectPage(
            name=str(name),
            files=FileList(groups, spelled, elsewhere),
            index_url=str(index_url),
            versions=tuple(versions),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a cached project page: {exc}") from exc


def _positions(found: Sequence[int]) -> Sequence[int]:
    """A group's positions as a ``range`` when they follow each other (a page lists a
    version's files together: 90,000 int objects fewer for the pages of an airflow
    compile), else as a tuple."""
    run = range(found[0], found[0] + len(found)) if found else range(0)
    if list(found) == list(run):  # compared in C, not a step per file
        return run
    return tuple(found)


def _decode_rows(blob: bytes, count: int) -> tuple[DistFile, ...]:
    from xv.index.simple import DistFile

    try:
        rows = msgpack.unpackb(blob, raw=False, use_list=False, strict_map_key=False)
        # Positional construction: the row order is DistFile's field order.
        files = tuple(DistFile(*row) for row in rows)
        if len(files) != count or any(len(row) != _ROW_FIELDS for row in rows):
            raise ValueError(f"expected {count} rows of {_ROW_FIELDS} fields")
        return files
    except Exception as exc:  # msgpack raises many types on garbage
        raise XvError(
            f"a cached project page is damaged ({exc}); run again with --refresh"
        ) from None
