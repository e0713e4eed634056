"""Which file a pin installs: the best wheel of the pinned version for the target's
tags, or the pin's own wheel URL, with the lock's hashes checked against the index's.

An sdist alone raises :class:`NeedsBuild` (xv-sync's ``build`` makes its wheel); a pin
no file of the target fits raises a clear :class:`~xv.errors.InstallError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from xv.env.interpreter import Interpreter
from xv.env.target import Target, interpreter_target
from xv.errors import InstallError
from xv.sync.hashes import Fetch, fetch_for
from xv.sync.plan import Wanted
from xv.sync.policy import ANY_FILE, FilePolicy

if TYPE_CHECKING:  # the client (HTTP cache rules, the pool) loads with the first page read,
    # the page readers (html.parser, ...) with the first file chosen: a sync whose wheels
    # are all cached (hashed pins) loads neither
    from packaging.version import Version

    from xv.index.client import IndexClient
    from xv.index.simple import DistFile, ProjectPage


def target_of(interp: Interpreter) -> Target:
    """The resolver's view of the interpreter: its markers and wheel tags, best first."""
    return interpreter_target(interp)


def best_file(
    want: Wanted,
    page: ProjectPage | None,
    target: Target,
    platform: str,
    policy: FilePolicy = ANY_FILE,
) -> DistFile:
    """The best wheel of the pinned version for the target, or a clear InstallError
    (:class:`NeedsBuild` when the sdist is the file to use: no wheel, or ``--no-binary``)."""
    from xv.index.pageform import files_of_version

    name = want.canonical_name
    spec = f"{name}=={want.version}"
    files = files_of_version(page, want.version) if page is not None else ()
    if not files:
        raise InstallError(f"{spec} was not found on the package index", name)
    files = tuple(f for f in files if policy.uploaded_in_time(f))
    if not files:
        raise InstallError(f"{spec} has no file uploaded before --exclude-newer", name)
    usable = []
    for f in files if policy.wheels_allowed(name) else ():
        rank = target.wheel_priority(f.filename) if f.is_wheel else None
        if rank is not None and target.allows_requires_python(f.requires_python):
            usable.append((rank, f.is_yanked, f))
    if usable:
        return min(usable, key=lambda item: item[:2])[2]
    sdists = [f for f in files if not f.is_wheel and f.filename.endswith((".tar.gz", ".zip"))]
    wheels = [f for f in files if f.is_wheel]
    if sdists and (not wheels or not policy.wheels_allowed(name)):
        if not policy.sdists_allowed(name):
            raise InstallError(f"{spec} has only an sdist, and --only-binary refuses it", name)
        raise NeedsBuild(
            f"{spec} is only available as a source distribution, which needs a build",
            name,
            sdists[0],
        )
    if not policy.wheels_allowed(name):
        raise InstallError(f"{spec} has no sdist, and --no-binary refuses its wheels", name)
    raise InstallError(
        f"{spec} has no wheel for this platform ({platform}); "
        f"available: {', '.join(sorted(f.filename for f in files))}",
        want.canonical_name,
    )


class NeedsBuild(InstallError):
    """A pin whose only file is an sdist: :func:`apply`'s ``build`` makes its wheel."""

    def __init__(self, message: str, package: str, sdist: DistFile) -> None:
        super().__init__(message, package)
        self.sdist = sdist

    def __reduce__(self) -> tuple[Any, ...]:  # from a process pool's worker, intact
        return (NeedsBuild, (str(self), self.package, self.sdist))


#: ``build(want, sdist) -> archive directory``: an sdist built into a wheel and unpacked.
BuildSdist = Callable[[Wanted, "DistFile"], str]


def _by_hash(want: Wanted) -> Version | None:
    """The pin's version when its page need not be cached: a pin with a sha256 hash,
    whose tree later syncs find by that hash (:func:`xv.sync.prepare.from_cache`), so a
    fetched page is read for its version alone (a sync's pages are most of its parent
    process's CPU: 87 MB of JSON for a 325-pin lock)."""
    if any(h.startswith("sha256:") for h in want.hashes):
        return want.version
    return None


def platform_of(interp: Interpreter) -> str:
    markers = interp.markers
    return (
        f"{interp.implementation} {interp.python_version} on "
        f"{markers.get('sys_platform', '?')} {markers.get('platform_machine', '?')}"
    )


def choose(
    want: Wanted,
    client: IndexClient,
    target: Target,
    platform: str,
    policy: FilePolicy = ANY_FILE,
) -> Fetch:
    """The file to install for a pin (its wheel URL, or the best wheel on the index),
    with the lock's hashes checked against the index's."""
    from xv.index.simple import DistFile, ProjectPage

    if want.url is not None:
        filename = unquote(urlsplit(want.url).path.rsplit("/", 1)[-1])
        file = DistFile(filename, want.url)
    else:  # a pylock.toml lists the files to choose from; else the index's page
        page = (
            ProjectPage(want.canonical_name, want.files, "")
            if want.files
            else client.project_page(want.canonical_name, remember=False, version=_by_hash(want))
        )
        file = best_file(want, page, target, platform, policy)
    return fetch_for(want, file)
