"""xv-sync: make an environment hold exactly the distributions a lock pins.

This module holds the pure planning step: :func:`plan` compares the pins with
what is installed and returns a :class:`Plan`, without I/O. Applying a plan
(download, unpack, install, remove) builds on ``xv.install``: an upgrade or a
reinstall installs the new files first and removes the old version's leftovers
afterwards (``xv.install.upgrade``), so the package imports at every moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xv.names import canonicalize_name
from xv.records import record
from xv.reqfile.model import FileOptions

if TYPE_CHECKING:  # annotations only: a sync answered from its record imports no parser
    from packaging.version import Version

    from xv.env.installed import InstalledDist
    from xv.index.simple import DistFile
    from xv.reqfile.model import Origin, ParsedRequirement

#: Never removed just for being absent from the lock (uv keeps the same tools).
DEFAULT_KEEP = frozenset({"pip", "setuptools", "wheel", "xv"})
_SIGN_ORDER = {"-": 0, "~": 1, "+": 2}


@record
class Wanted:
    """One pin of the lock: ``name==version``, or ``name @ url`` when ``url`` is set."""

    name: str
    version: Version
    url: str | None = None
    hashes: tuple[str, ...] = ()  # "sha256:<hex>" as the lock lists them
    editable: bool = False
    # From a pylock.toml: the files to choose from, instead of the index's page.
    files: tuple[DistFile, ...] = field(default=(), compare=False)

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)


@record
class SyncInputs:
    """The pins that apply to the target, the files' global options, and each pin's line.

    ``not_here`` are the entries left out because their marker is false for the
    target; ``empty_files`` the files that hold neither an entry nor an option;
    ``sources`` every file read (includes too).
    """

    wanted: tuple[Wanted, ...]
    options: FileOptions
    origins: Mapping[str, Origin]  # canonical name -> the line that pinned it
    not_here: tuple[Origin, ...] = ()
    empty_files: tuple[str, ...] = ()
    # Entries only a build (or a look inside) can name and version: sdist and VCS URLs,
    # paths to sdists and directories, editables; see xv.sync.direct.
    direct: tuple[ParsedRequirement, ...] = ()
    sources: tuple[str, ...] = ()

    @classmethod
    def unread(cls) -> SyncInputs:
        """No inputs: the files were not read (the sync record answered)."""
        return cls((), FileOptions(), {})


@record
class Reinstall:
    """An installed distribution replaced by the same version (forced, or a new source)."""

    wanted: Wanted
    installed: InstalledDist


@dataclass(frozen=True, order=True)
class Change:
    """One line of the summary: ``+ name==1.0``, ``- name==0.9`` or ``~ name==1.0``."""

    name: str
    order: int
    sign: str
    version: str
    url: str | None = None

    def render(self) -> str:
        """The line uv prints (without its leading space).

        >>> Change("idna", 2, "+", "3.7").render()
        '+ idna==3.7'
        """
        text = f"{self.sign} {self.name}=={self.version}"
        return f"{text} (from {self.url})" if self.url else text


@record
class Plan:
    """What a sync does. An upgrade or downgrade is an install plus a remove of one name."""

    install: tuple[Wanted, ...] = ()
    remove: tuple[InstalledDist, ...] = ()
    reinstall: tuple[Reinstall, ...] = ()
    unchanged: tuple[InstalledDist, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.install or self.remove or self.reinstall)

    @property
    def upgrades(self) -> tuple[tuple[Wanted, InstalledDist], ...]:
        """The installs that replace an installed version of the same name."""
        removed = {dist.canonical_name: dist for dist in self.remove}
        return tuple(
            (want, removed[want.canonical_name])
            for want in self.install
            if want.canonical_name in removed
        )

    @property
    def changes(self) -> tuple[Change, ...]:
        """Summary lines sorted by name, removals before installs, as uv prints them."""
        out = [_change("+", w.canonical_name, str(w.version), w.url) for w in self.install]
        out += [_change("-", d.canonical_name, d.version, None) for d in self.remove]
        out += [
            _change("~", r.wanted.canonical_name, str(r.wanted.version), r.wanted.url)
            for r in self.reinstall
        ]
        return tuple(sorted(out))


def _change(sign: str, name: str, version: str, url: str | None) -> Change:
    return Change(name, _SIGN_ORDER[sign], sign, version, url)


def plan(
    wanted: Sequence[Wanted],
    installed: Mapping[str, InstalledDist],
    *,
    reinstall: bool = False,
    reinstall_packages: frozenset[str] = frozenset(),
    keep: frozenset[str] = DEFAULT_KEEP,
) -> Plan:
    """Compare the pins with the environment.

    Installed distributions absent from ``wanted`` are removed, except those in
    ``keep`` (unless the lock pins them, in which case the pin wins).
    Raises ValueError when a name is wanted twice.
    """
    pins: dict[str, Wanted] = {}  # keyed by canonical name
    for want in wanted:
        if want.canonical_name in pins:
            raise ValueError(f"{want.canonical_name} is pinned more than once")
        pins[want.canonical_name] = want
    present: dict[str, InstalledDist] = {
        canonicalize_name(name): dist for name, dist in installed.items()
    }
    forced = {canonicalize_name(name) for name in reinstall_packages}
    kept = {canonicalize_name(name) for name in keep}
    install: list[Wanted] = []
    remove: list[InstalledDist] = []
    again: list[Reinstall] = []
    unchanged: list[InstalledDist] = []
    for name in sorted(pins):
        want, dist = pins[name], present.get(name)
        if dist is None:
            install.append(want)
        elif dist.parsed_version != want.version:
            install.append(want)
            remove.append(dist)
        elif reinstall or name in forced or _needs_reinstall(want, dist):
            again.append(Reinstall(want, dist))
        else:
            unchanged.append(dist)
    for name in sorted(set(present) - set(pins)):
        (unchanged if name in kept else remove).append(present[name])
    return Plan(tuple(install), tuple(remove), tuple(again), tuple(unchanged))


def _needs_reinstall(want: Wanted, dist: InstalledDist) -> bool:
    """Same version installed; does it come from somewhere else than the pin says?"""
    if dist.duplicates or not dist.complete:  # an interrupted install or upgrade
        return True
    if want.editable != dist.editable:
        return True
    if want.url is None:
        # A registry pin is satisfied by the same version from anywhere (as uv does).
        return False
    return not direct_url_matches(want.url, dist.direct_url)


def direct_url_matches(url: str, direct_url: Mapping[str, object] | None) -> bool:
    """Whether an installed ``direct_url.json`` (PEP 610) records ``url``.

    >>> direct_url_matches("https://h/x-1.0.whl#sha256=ab", {"url": "https://h/x-1.0.whl"})
    True
    >>> direct_url_matches("git+https://h/x@v1", {"url": "https://h/x",
    ...     "vcs_info": {"vcs": "git", "requested_revision": "v1", "commit_id": "f00"}})
    True
    >>> direct_url_matches("git+file:///r@f00#subdirectory=s", {"url": "file:///r",
    ...     "vcs_info": {"vcs": "git", "commit_id": "f00"}, "subdirectory": "s"})
    True
    """
    if not direct_url or not isinstance(direct_url.get("url"), str):
        return False
    # Not urldefrag: it rewrites an unknown scheme's "file:///" as "file:/".
    wanted = url.split("#", 1)[0]
    recorded = str(direct_url["url"])
    vcs_info = direct_url.get("vcs_info")
    if isinstance(vcs_info, dict):
        base = f"{vcs_info.get('vcs')}+{recorded}"
        revisions = [vcs_info.get("requested_revision"), vcs_info.get("commit_id")]
        candidates = {base} | {f"{base}@{rev}" for rev in revisions if rev}
        return wanted in candidates
    return wanted == recorded.split("#", 1)[0]
