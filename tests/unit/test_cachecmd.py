"""Cache maintenance rules (xv.cachecmd) on hand-made caches; the commands end to end are in
tests/e2e/test_cache_command.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

from xv import cachecmd
from xv.build.builder import BUILT_WHEELS_BUCKET, TREE_METADATA_BUCKET
from xv.build.direct import DIRECT_BUCKET
from xv.build.source import SDISTS_BUCKET
from xv.build.vcs import GIT_BUCKET
from xv.cache import Cache, CacheBucket
from xv.compile.check import BUCKET as CHECK_BUCKET
from xv.fast import BUCKET as FAST_BUCKET
from xv.index.client import PAGE_BUCKET
from xv.index.metadata import METADATA_BUCKET
from xv.sync.prepare import ARCHIVES_BUCKET, WHEELS_BUCKET


def test_every_bucket_xv_writes_is_known() -> None:
    written = {
        PAGE_BUCKET, METADATA_BUCKET, TREE_METADATA_BUCKET, CHECK_BUCKET,
        WHEELS_BUCKET, SDISTS_BUCKET, BUILT_WHEELS_BUCKET, DIRECT_BUCKET, ARCHIVES_BUCKET,
        GIT_BUCKET,
    }  # fmt: skip
    assert all(isinstance(bucket, CacheBucket) for bucket in written)  # never a copied string
    # xv.fast spells its bucket out (importing xv.cache would load msgpack before the answer)
    assert FAST_BUCKET == CacheBucket.FAST
    assert set(CacheBucket) == set(cachecmd.KNOWN_BUCKETS)


def test_fast_records_are_pruned_when_stale_undecodable_or_half_written(tmp_path: Path) -> None:
    bucket = tmp_path / FAST_BUCKET
    bucket.mkdir()
    names = ("fresh.json", "old.json", "garbled.json", "fresh.json.7.tmp", "old.json.8.tmp")
    for name in names:
        (bucket / name).write_text('{"format": 1}' if name != "garbled.json" else "{")
    then = time.time() - 2 * cachecmd.CHECK_MAX_AGE
    for name in ("old.json", "old.json.8.tmp"):
        os.utime(bucket / name, (then, then))
    cachecmd.prune(tmp_path, forced=True)
    assert sorted(p.name for p in bucket.iterdir()) == ["fresh.json", "fresh.json.7.tmp"]
    info = {b.name: b.known for b in cachecmd.info(tmp_path)}
    assert info[FAST_BUCKET] is True


def test_forced_prune_spares_what_may_be_in_flight(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels-v1" / "abc"
    wheels.mkdir(parents=True)
    fresh, old = wheels / ".a.whl.1.tmp", wheels / ".a.whl.2.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    then = time.time() - 2 * cachecmd.FORCED_MIN_AGE
    os.utime(old, (then, then))
    with Cache(tmp_path).bucket("wheels-v1").lock("abc"):  # a lock file, held
        cachecmd.prune(tmp_path, forced=True)
    assert fresh.exists() and not old.exists()
    assert (tmp_path / "wheels-v1" / ".locks" / "abc.lock").exists()  # locks stay when forced


def test_interpreter_facts_of_a_vanished_interpreter_are_pruned(tmp_path: Path) -> None:
    bucket = Cache(tmp_path).bucket("interpreter-v1")
    bucket.put("gone", {"executable": str(tmp_path / "no-python")})
    bucket.put("here", {"executable": os.__file__})
    cachecmd.prune(tmp_path)
    assert sorted(p.name for p in (tmp_path / "interpreter-v1").iterdir()) == ["here"]


def test_clean_removes_buckets_only(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    Cache(tmp_path).bucket("simple-v2").put("k", 1)
    removal = cachecmd.clean_all(tmp_path)
    assert (removal.files, removal.dirs) == (1, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["photos"]


def test_links_in_the_cache_are_removed_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    root = tmp_path / "cache"
    (root / "wheels-v1" / "abc").mkdir(parents=True)
    (root / "wheels-v1" / "abc" / "link").symlink_to(outside)
    (root / "archives-v1").symlink_to(outside)  # a planted bucket: not ours to walk
    cachecmd.clean_packages(root, ["anything"])
    cachecmd.prune(root)
    cachecmd.clean_all(root)
    assert (outside / "precious").read_text() == "keep me\n"
    assert not (root / "wheels-v1").exists()
