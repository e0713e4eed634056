"""Parse PEP 691 JSON and PEP 503 HTML project pages into immutable values.

Pure functions, no I/O: the index client fetches bytes and hands them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DistFile:
    """One file of a project on an index (a wheel or an sdist)."""

    filename: str
    url: str  # absolute
    hashes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; "" : yanked without a reason
    upload_time: str | None = None  # ISO 8601 as the index gives it
    size: int | None = None
    # PEP 658/714: None when no metadata file is advertised, else the hashes of
    # the metadata file (possibly empty when advertised as plain "true").
    metadata_hashes: dict[str, str] | None = field(default=None, compare=False, hash=False)

    @property
    def has_metadata_file(self) -> bool:
        return self.metadata_hashes is not None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """A project's file listing on one index."""

    name: str  # normalised
    files: tuple[DistFile, ...]
    index_url: str  # the index (or find-links location) it came from
