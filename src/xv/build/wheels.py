"""Built wheels in the cache, found without the build frontend (a sync whose sdists were
built before imports none of it)."""

from __future__ import annotations

from pathlib import Path

from xv.cache import Cache, CacheBucket
from xv.env.tagtext import expand, filename_tags, is_plain

BUILT_WHEELS_BUCKET = CacheBucket.BUILT_WHEELS


def built_wheel(cache_root: Path, sdist_sha256: str, tags: tuple[str, ...]) -> Path | None:
    """The wheel built before from the sdist with this sha256 that fits ``tags``, if any."""
    folder = Cache(str(cache_root)).bucket(BUILT_WHEELS_BUCKET).path(sdist_sha256.lower())
    return fitting_wheel(folder, tags)


def fitting_wheel(folder: Path, tags: tuple[str, ...]) -> Path | None:
    """The wheel in ``folder`` whose tags rank best among ``tags`` (None if none fits)."""
    if not folder.is_dir():
        return None
    rank = _ranks(tags)
    best: tuple[int, Path] | None = None
    for path in folder.glob("*.whl"):
        # Only the tags are read from the name: the installer checks the wheel's
        # name and version against the pin (METADATA, .dist-info) before it is used.
        try:
            wheel_tags = filename_tags(path.name) or frozenset()
        except ValueError:
            continue
        ranks = [rank[t] for t in wheel_tags if t in rank]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), path)
    return best[1] if best else None


def _ranks(tags: tuple[str, ...]) -> dict[str, int]:
    """Each tag's place as the text ``str(Tag)`` gives, the first place kept. An
    interpreter's ~900 tags are plain (``cp311-cp311-linux_x86_64``, lower case): they are
    keys as they are; a compressed or upper-case one is expanded (parse_tag's rule)."""
    rank: dict[str, int] = {}
    for i, text in enumerate(tags):
        if is_plain(text):
            rank.setdefault(text, i)
        else:
            for tag in expand(text):
                rank.setdefault(tag, i)
    return rank
