"""Value types produced by the requirements-file parser.

They are frozen so a parsed file can be shared between the resolver, the lockfile writer and the
sync planner without anyone mutating another's view of the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, overload
from urllib.parse import unquote, urlsplit

from xv.records import record

if TYPE_CHECKING:  # annotations only: reading FileOptions need not load packaging's parsers
    from packaging.markers import Marker
    from packaging.requirements import Requirement


@dataclass(frozen=True, order=True)
class Origin:
    """Where an item came from: the file as the user referred to it, and a 1-based line.

    >>> str(Origin("sub/base.in", 3))
    'sub/base.in:3'
    """

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class PlainPin(NamedTuple):
    """A plain ``name==version`` line (no extras, marker or URL), parsed into packaging's
    ``Requirement`` only when :attr:`ParsedRequirement.requirement` is read: a lock of such
    pins is synced without loading packaging's requirement and marker parsers (~10 ms of
    every start-up). The parser checked the line is one packaging accepts."""

    spec: str  # as packaging will parse it
    version: str  # the version it pins


class _ParsedOnRead:
    """The descriptor behind :attr:`ParsedRequirement.requirement`: a :class:`PlainPin`
    becomes packaging's ``Requirement`` (of the same text) on first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    @overload
    def __get__(self, obj: None, owner: Any = None) -> _ParsedOnRead: ...
    @overload
    def __get__(self, obj: object, owner: Any = None) -> Requirement | None: ...
    def __get__(self, obj: object | None, owner: Any = None) -> Requirement | None | _ParsedOnRead:
        if obj is None:  # the dataclass asking for a default: there is none
            raise AttributeError(self.slot[1:])
        value = obj.__dict__[self.slot]
        if isinstance(value, PlainPin):
            from packaging.requirements import Requirement

            value = obj.__dict__[self.slot] = Requirement(value.spec)
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: Requirement | PlainPin | None) -> None:
        obj.__dict__[self.slot] = value


@record
class ParsedRequirement:
    """One requirement line (or ``-e`` line) of a requirements file.

    ``requirement`` is a PEP 508 requirement whenever the name is known; for a local path or URL
    whose name can be derived (``#egg=``, a wheel or sdist filename) it is ``name @ url``.
    ``url`` is set for every direct reference; local paths become absolute ``file://`` URLs so
    consumers deal with one kind of location. ``spec`` and ``text`` are as written, before
    ``${VAR}`` expansion, so secrets pulled from the environment never reach a lockfile.
    """

    name: str | None
    url: str | None
    editable: bool
    hashes: tuple[str, ...]
    constraint: bool
    origin: Origin
    text: str
    # Requirement | None when read (a descriptor, after the fields without a default: as
    # far as type checkers know, it has one; it has not, and is given by keyword).
    requirement: _ParsedOnRead = _ParsedOnRead()
    spec: str = ""
    extras: frozenset[str] = frozenset()
    marker: Marker | None = None

    @property
    def pinned(self) -> str | None:
        """The one version the entry pins (``==1.0``; see
        :func:`xv.reqfile.requirement.pinned_version`), read without parsing a plain pin."""
        stored = self.__dict__["_requirement"]
        if isinstance(stored, PlainPin):
            return stored.version
        requirement = self.requirement
        if requirement is None:
            return None
        from xv.reqfile.requirement import pinned_version

        return pinned_version(requirement.specifier)

    @property
    def is_direct(self) -> bool:
        """True for a path, URL or VCS reference rather than a name looked up on an index."""
        return self.url is not None

    @property
    def local_path(self) -> Path | None:
        """The filesystem path of a ``file://`` location, else ``None``."""
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        if parts.scheme != "file":
            return None
        return Path(unquote(parts.path))


@record
class FileOptions:
    """Global options found in requirements files, merged over every file read, in order."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    prefer_binary: bool = False
    require_hashes: bool = False


@record
class RequirementsFile:
    """The flattened result of parsing a requirements file and everything it includes."""

    requirements: tuple[ParsedRequirement, ...] = ()
    constraints: tuple[ParsedRequirement, ...] = ()
    options: FileOptions = FileOptions()
    sources: tuple[str, ...] = ()


def merge_file_options(options: Iterable[FileOptions]) -> FileOptions:
    """The options of several requirement files combined (the first ``--index-url`` wins)."""
    merged = FileOptions()
    for opt in options:
        merged = FileOptions(
            index_url=merged.index_url or opt.index_url,
            extra_index_urls=_unique(merged.extra_index_urls + opt.extra_index_urls),
            find_links=_unique(merged.find_links + opt.find_links),
            no_index=merged.no_index or opt.no_index,
            trusted_hosts=_unique(merged.trusted_hosts + opt.trusted_hosts),
            pre=merged.pre or opt.pre,
            only_binary=merged.only_binary | opt.only_binary,
            no_binary=merged.no_binary | opt.no_binary,
            prefer_binary=merged.prefer_binary or opt.prefer_binary,
            require_hashes=merged.require_hashes or opt.require_hashes,
        )
    return merged


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
