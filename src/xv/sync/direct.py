"""xv-sync's entries that need a build: sdists, directories, editables, git, sdist URLs.

Before planning, each such entry is made concrete (:mod:`xv.build.direct`): its name
and version come from its metadata, and it becomes a :class:`Wanted` whose URL is
what an install records (``direct_url.json``), so an entry already installed from
the same URL, directory or commit is left alone by the plan. Only the entries the
plan installs are built, all before the environment changes: each wheel is built
(an sdist's once per sdist and interpreter, in the cache), unpacked into the
archive bucket and handed to :func:`xv.sync.apply.apply` as ready.
Index pins that have only an sdist are built through :func:`sdist_builder`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xv.build.wheels import built_wheel
from xv.errors import InputError
from xv.install.archive import unpack_wheel_to_archive
from xv.reqfile import Origin, ParsedRequirement
from xv.sync.choose import BuildSdist
from xv.sync.hashes import check_known_sha256
from xv.sync.plan import Plan, SyncInputs, Wanted
from xv.sync.prepare import ARCHIVES_BUCKET
from xv.urls import redact, without_password

# The build frontend loads only when something is built: an sdist built before (for this
# interpreter's tags) is found in the cache without it.
if TYPE_CHECKING:
    from xv.build.context import BuildContext
    from xv.build.direct import DirectDist, DirectRef
    from xv.env.interpreter import Interpreter
    from xv.index.simple import DistFile


def resolve_entries(
    inputs: SyncInputs, ctx: BuildContext
) -> tuple[SyncInputs, dict[str, DirectDist]]:
    """``inputs`` with its direct entries turned into pins, and what each pin came from."""
    wanted = {w.canonical_name: w for w in inputs.wanted}
    origins = dict(inputs.origins)
    dists: dict[str, DirectDist] = {}
    refs = [_ref(item) for item in inputs.direct]
    for item, dist in zip(inputs.direct, ctx.direct.resolve_all(refs), strict=True):
        _check_unique(dist.name, item.origin, origins)
        hashes = tuple(sorted(set(item.hashes)))
        wanted[dist.name] = Wanted(
            dist.name, dist.version, _recorded_url(item, dist), hashes, item.editable
        )
        origins[dist.name] = item.origin
        dists[dist.name] = dist
    merged = tuple(wanted[name] for name in sorted(wanted))
    return SyncInputs(merged, inputs.options, origins, inputs.not_here, inputs.empty_files), dists


def _ref(item: ParsedRequirement) -> DirectRef:
    from xv.build.direct import DirectRef

    assert item.url is not None
    return DirectRef(item.url, item.editable, item.name, redact(item.spec or item.text))


def _recorded_url(item: ParsedRequirement, dist: DirectDist) -> str:
    """The URL ``direct_url.json`` will hold (git: pinned to the commit), without a
    password: the plan compares it with the record, and the summary prints it."""
    if dist.commit is not None:
        return without_password(dist.url)
    assert item.url is not None
    return without_password(item.url)


def _check_unique(name: str, origin: Origin, origins: dict[str, Origin]) -> None:
    if name in origins:
        raise InputError(
            f"{name} is pinned more than once (also at {origins[name]})", origin.file, origin.line
        )


def build_ready(
    the_plan: Plan,
    dists: dict[str, DirectDist],
    interp: Interpreter,
    ctx: BuildContext,
    cache_root: Path,
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Archives (and direct_url.json) of the direct entries the plan installs."""
    installing = [*the_plan.install, *(r.wanted for r in the_plan.reinstall)]
    todo = [
        (want, dists[want.canonical_name]) for want in installing if want.canonical_name in dists
    ]
    import tempfile  # here: only direct entries need it

    with tempfile.TemporaryDirectory(prefix="xv-sync-build-") as scratch:

        def prepare(item: tuple[Wanted, DirectDist]) -> tuple[str, tuple[str, dict[str, Any]]]:
            want, dist = item
            wheel = ctx.direct.wheel(dist, interp.tags, Path(scratch))
            check_known_sha256(want, dist.location.name, ctx.direct.archive_sha256(dist), None)
            archive = unpack_wheel_to_archive(str(wheel), str(cache_root / ARCHIVES_BUCKET))
            return dist.name, (archive, dist.direct_url())

        from xv.pool import cpu_count  # multiprocessing: only when something is built

        # Builds are subprocesses; the frontend lets at most one per CPU run at once.
        with ThreadPoolExecutor(max(1, min(len(todo), cpu_count()))) as pool:
            return dict(pool.map(prepare, todo))


def sdist_builder(
    context: Callable[[], BuildContext], interp: Interpreter, cache_root: Path
) -> BuildSdist:
    """:func:`xv.sync.apply.apply`'s ``build``: an index sdist made into an unpacked wheel.

    A wheel built before from the same sdist (by its sha256, which the index gives and the
    lock's ``--hash`` is checked against) for these tags is used as is: neither the sdist nor
    the build context (``context()``, made on first need) is touched."""
    archives = str(cache_root / ARCHIVES_BUCKET)

    def build(want: Wanted, sdist: DistFile) -> str:
        label = f"{want.canonical_name}=={want.version}"
        sha = sdist.hashes.get("sha256")
        if sha is not None:
            check_known_sha256(want, sdist.filename, sha, None)
            wheel = built_wheel(cache_root, sha, interp.tags)
            if wheel is not None:
                return unpack_wheel_to_archive(str(wheel), archives)
        from xv.build.source import fetch_sdist  # with the frontend and the resolver

        ctx = context()
        path = fetch_sdist(ctx.client, sdist)
        check_known_sha256(want, sdist.filename, sha, path)
        wheel = ctx.builder.sdist_wheel(path, label, interp.tags, sha)
        return unpack_wheel_to_archive(str(wheel), archives)

    return build
