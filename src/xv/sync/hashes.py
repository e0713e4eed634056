"""A pin's hashes: what the index already vouches for, and what a file must still show.

xv-sync's prepare step and ``--download-only`` both check files this way; built entries
(sdists, URL sdists) check the sha256 the build step already knows with
:func:`check_known_sha256`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from xv.errors import HashMismatchError
from xv.install.archive import file_sha256
from xv.records import record
from xv.sync.plan import Wanted

if TYPE_CHECKING:  # the type only: a sync whose wheels are all cached reads no page
    from xv.index.simple import DistFile


@record
class Fetch:
    """One wheel to make ready: where it is, and the hashes it must have."""

    name: str
    filename: str
    url: str
    index_hashes: Mapping[str, str]  # verified while downloading
    lock_hashes: tuple[str, ...]  # to check after downloading ("sha256:<hex>"), if any

    @property
    def sha256(self) -> str | None:
        return self.index_hashes.get("sha256")


def fetch_for(want: Wanted, file: DistFile) -> Fetch:
    """Check the lock's hashes against the index's; keep those only a download can check."""
    lock = {tuple(h.split(":", 1)) for h in want.hashes if ":" in h}
    proven = False
    for algorithm, digest in file.hashes.items():
        if lock and any(a == algorithm for a, _ in lock):
            if (algorithm, digest.lower()) not in lock:
                raise HashMismatchError(
                    f"Hash mismatch for {want.canonical_name}=={want.version} "
                    f"({file.filename}): the index gives {algorithm}:{digest.lower()}, which "
                    "none of the requirement file's --hash values allows",
                    want.canonical_name,
                )
            proven = True
    later = () if proven else tuple(sorted(want.hashes))
    hashes = {k: v.lower() for k, v in file.hashes.items()}
    return Fetch(want.canonical_name, file.filename, file.url, hashes, later)


def check_hashes(name: str, path: Path, allowed: Iterable[str]) -> None:
    """Raise HashMismatchError unless the file at ``path`` matches one of ``allowed``
    (``"algorithm:hex"``; none given: nothing to check)."""
    wanted = {tuple(h.split(":", 1)) for h in allowed if ":" in h}
    if not wanted:
        return
    actual = [(a, _digest(path, a)) for a in sorted({a for a, _ in wanted})]
    if any(pair in wanted for pair in actual):
        return
    shown = ", ".join(f"{a}:{d}" for a, d in actual)
    raise HashMismatchError(
        f"Hash mismatch for {name} ({path.name}): it has {shown}, which none of the "
        "requirement file's --hash values allows",
        name,
    )


def check_known_sha256(want: Wanted, filename: str, sha: str | None, path: Path | None) -> None:
    """Raise HashMismatchError unless the file's sha256 (``sha``, else read from ``path``)
    is one of the pin's ``sha256`` ``--hash`` values. A lock's ``--hash`` of a URL sdist is
    the sdist's (as uv writes it); other algorithms are not checked here; with neither
    ``sha`` nor ``path`` (a source tree) or no sha256 in the lock there is nothing to check."""
    allowed = [h.split(":", 1)[1].lower() for h in want.hashes if h.startswith("sha256:")]
    if not allowed or (sha is None and path is None):
        return
    if sha is None:
        assert path is not None
        sha = file_sha256(str(path))
    if sha.lower() not in allowed:
        raise HashMismatchError(
            f"Hash mismatch for {want.canonical_name}=={want.version} ({filename}): it has "
            f"sha256:{sha.lower()}, which none of the requirement file's --hash values allows",
            want.canonical_name,
        )


def _digest(path: Path, algorithm: str) -> str:
    if algorithm == "sha256":
        return file_sha256(str(path))
    import hashlib  # here: a --hash of another algorithm than sha256 (OpenSSL, ~4 ms)

    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
