"""``xv-sync --download-only DIR``: fill a wheelhouse with every file a lock needs.

Each pin gets the file a sync would install for the target (its best wheel, or its
sdist when it has no usable wheel), downloaded and checked against the index's hash
while streaming and against the lock's ``--hash`` values after, then moved into
``DIR`` under its own name. Nothing in any environment changes. A file already in
``DIR`` is kept when it verifies (so a second run downloads nothing), replaced when
it does not. ``xv-sync --offline --no-index --find-links DIR`` then installs from it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from xv.cache import Cache
from xv.env.interpreter import Interpreter
from xv.env.target import Target
from xv.errors import HashMismatchError, InstallError, XvError
from xv.index.client import IndexClient, IndexSettings, client_for, remember_client
from xv.index.simple import DistFile
from xv.install.archive import file_sha256
from xv.pool import WorkerPool
from xv.sync.choose import NeedsBuild, choose, platform_of, target_of
from xv.sync.hashes import Fetch, check_hashes, fetch_for
from xv.sync.plan import Wanted
from xv.sync.policy import ANY_FILE, FilePolicy


def download_all(
    wanted: Sequence[Wanted],
    interp: Interpreter,
    client: IndexClient,
    dest: Path,
    policy: FilePolicy = ANY_FILE,
) -> list[tuple[Path, bool]]:
    """``(path in dest, whether it was downloaded now)`` for each pin, in pin order.

    Raises the first failure in pin order (InstallError, HashMismatchError,
    NetworkError); files already moved into ``dest`` stay (each one verified).
    """
    dest.mkdir(parents=True, exist_ok=True)
    target, platform = target_of(interp), platform_of(interp)
    jobs = [(w, target, platform, client.settings, client.cache, str(dest), policy) for w in wanted]
    with WorkerPool(kind="thread", work="io") as pool:
        remember_client(client)
        results = pool.map(download_one, jobs)
    out = []
    for want, result in zip(wanted, results, strict=True):
        if not result.ok:
            if isinstance(result.exception, XvError):
                raise result.exception
            raise InstallError(f"Failed to download {want.canonical_name}: {result.error}")
        out.append(result.value)
    return out


def download_one(
    want: Wanted,
    target: Target,
    platform: str,
    settings: IndexSettings,
    cache: Cache,
    dest: str,
    policy: FilePolicy = ANY_FILE,
) -> tuple[Path, bool]:
    """Pool job: the verified file for one pin in ``dest``, and whether it was fetched now."""
    client = client_for(settings, cache)
    try:
        fetch = choose(want, client, target, platform, policy)
    except NeedsBuild as exc:  # the sdist is what a sync would build: keep it
        fetch = fetch_for(want, exc.sdist)
    if fetch.filename != Path(fetch.filename).name or fetch.filename.startswith("."):
        raise InstallError(f"refusing the file name {fetch.filename!r} for {want.canonical_name}")
    path = Path(dest, fetch.filename)
    if path.is_file() and _verified(path, fetch):
        return path, False
    with tempfile.TemporaryDirectory(prefix=".xv-download-", dir=dest) as tmp:
        got = client.download(
            DistFile(fetch.filename, fetch.url, dict(fetch.index_hashes)), Path(tmp)
        )
        check_hashes(want.canonical_name, got, fetch.lock_hashes)
        got.replace(path)  # same directory tree: atomic, never a half-written file in dest
    return path, True


def _verified(path: Path, fetch: Fetch) -> bool:
    """Whether a file already in the wheelhouse has the hashes the index and lock give
    (a file nothing can check is downloaded again)."""
    if fetch.sha256 is None and not fetch.lock_hashes:
        return False
    if fetch.sha256 is not None and file_sha256(str(path)) != fetch.sha256:
        return False
    try:
        check_hashes(fetch.name, path, fetch.lock_hashes)
    except HashMismatchError:
        return False
    return True
