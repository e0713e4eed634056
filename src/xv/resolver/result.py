"""What a resolution produces: the chosen distributions and why each is there.

A leaf module (no I/O, no solver internals) so that the lockfile writer and the
sync planner can depend on it without pulling in the resolver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xv.records import slotted_record

if TYPE_CHECKING:  # annotations only: --check's record path needs Parent, not the page parser
    from packaging.version import Version

    from xv.index.simple import DistFile


@dataclass(frozen=True, slots=True, order=True)
class Parent:
    """Why a distribution is in the resolution, as the ``# via`` line names it.

    ``kind`` is ``"package"`` (``name`` is a normalised project name),
    ``"requirement"`` (``name`` is the input file as given, rendered ``-r FILE``),
    ``"constraint"`` (rendered ``-c FILE``), ``"override"`` (``--override FILE``)
    or ``"project"`` (``name`` is ``"example (pyproject.toml)"``).
    """

    kind: str
    name: str

    def render(self) -> str:
        if self.kind == "requirement":
            return f"-r {self.name}"
        if self.kind == "constraint":
            return f"-c {self.name}"
        if self.kind == "override":
            return f"--override {self.name}"
        return self.name


@slotted_record
class ResolvedDist:
    """One pinned distribution of a resolution."""

    name: str  # normalised (PEP 503)
    version: Version
    extras: frozenset[str] = frozenset()  # extras requested of it, for --no-strip-extras
    url: str | None = None  # a direct URL requirement, pinned as ``name @ url``
    files: tuple[DistFile, ...] = ()  # every file of this version, for --generate-hashes
    parents: frozenset[Parent] = field(default_factory=frozenset)
    marker: str | None = None  # where the pin applies, in a universal resolution
    editable: bool = False  # ``-e``: ``url`` is the project directory


@slotted_record
class Resolution:
    """A complete, self-consistent set of pins."""

    dists: tuple[ResolvedDist, ...]

    def by_name(self) -> dict[str, ResolvedDist]:
        return {d.name: d for d in self.dists}
