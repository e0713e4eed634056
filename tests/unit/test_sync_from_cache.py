"""A hashed pin whose wheel is in the cache is installed without its project page
(xv.sync.prepare.from_cache), as uv's installer takes a cached wheel: only a verified tree
the lock's ``--hash`` names, whose wheel is the pin's and fits the target."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.localindex import LocalIndex, Pkg, build_wheel
from xv.env import query_interpreter
from xv.env.target import Target
from xv.install import unpack_wheel_to_archive
from xv.sync.choose import target_of
from xv.sync.plan import Wanted
from xv.sync.prepare import ARCHIVES_BUCKET, from_cache


@pytest.fixture(scope="module")
def target() -> tuple[Target, tuple[str, ...]]:
    interp = query_interpreter(sys.executable)
    return target_of(interp), interp.tags


def cached(cache: Path, pkg: Pkg, tag: str = "py3-none-any") -> str:
    """Unpack ``pkg``'s wheel into the cache as a sync would; the wheel's sha256."""
    (cache / "built").mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(pkg, tag, cache / "built")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    unpack_wheel_to_archive(str(wheel), str(cache / ARCHIVES_BUCKET))
    return sha


def pin(name: str, version: str, *shas: str) -> Wanted:
    return Wanted(name, Version(version), hashes=tuple(f"sha256:{s}" for s in shas))


def test_the_best_fitting_cached_wheel_is_taken(target: tuple[Target, tuple[str, ...]], tmp_path: Path) -> None:  # fmt: skip
    best = target[1][0]  # e.g. cp311-cp311-manylinux_2_36_x86_64: the target's first tag
    pure = cached(tmp_path, Pkg("demo", "1.0"))
    native = cached(tmp_path, Pkg("demo", "1.0"), best)
    found = from_cache(pin("demo", "1.0", pure, native, "0" * 64), *target, tmp_path)
    assert found == str(tmp_path / ARCHIVES_BUCKET / native)
    assert from_cache(pin("demo", "1.0", pure), *target, tmp_path) == str(
        tmp_path / ARCHIVES_BUCKET / pure
    )


@pytest.mark.parametrize(
    "case",
    ["another version", "another project", "unfit tag", "requires-python", "not hashed",
     "other algorithm", "edited tree", "no manifest"],
)  # fmt: skip
def test_nothing_unfit_or_unverified_is_taken(
    target: tuple[Target, tuple[str, ...]], tmp_path: Path, case: str
) -> None:
    pkg = {
        "another version": Pkg("demo", "2.0"),
        "another project": Pkg("other", "1.0"),
        "requires-python": Pkg("demo", "1.0", requires_python=">=99"),
    }.get(case, Pkg("demo", "1.0"))
    sha = cached(tmp_path, pkg, "py2-none-any" if case == "unfit tag" else "py3-none-any")
    want = pin("demo", "1.0", sha)
    tree = tmp_path / ARCHIVES_BUCKET / sha
    if case == "not hashed":
        want = Wanted("demo", Version("1.0"))
    elif case == "other algorithm":
        want = Wanted("demo", Version("1.0"), hashes=(f"sha384:{'0' * 96}",))
    elif case == "edited tree":
        module = next(tree.glob("*.dist-info")).parent / "demo" / "__init__.py"
        module.chmod(0o644)
        module.write_text("EVIL = 1\n")
    elif case == "no manifest":
        (tree.parent / f"{sha}.manifest").unlink()
    assert from_cache(want, *target, tmp_path) is None


def test_trees_unpacked_during_the_prepare_step_are_foreseen(
    make_index: Callable[..., LocalIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold prepare hands each tree it unpacked to ``foresee`` while other wheels are
    still fetched (apply validates them then), each the archive the step returns. With
    the serial pool an unpack is done when submitted: every tree but the last fetched's
    is handed over by the next fetch's report, deterministically."""
    from xv.cache import Cache
    from xv.index.client import IndexClient, IndexSettings
    from xv.sync.prepare import Clients, prepare

    monkeypatch.setenv("XV_POOL", "serial")
    names = ["a", "b", "c", "d"]
    idx = make_index([Pkg(n, "1.0") for n in names])
    client = IndexClient(IndexSettings(index_url=idx.url, backoff=0.01), Cache(tmp_path / "c"))
    seen: dict[str, str | None] = {}
    wants = [pin(n, "1.0") for n in names]
    archives, worked = prepare(
        wants,
        query_interpreter(sys.executable),
        Clients.of(client),
        foresee=lambda want, archive: seen.__setitem__(want.canonical_name, archive),
    )
    assert worked == len(names)
    assert seen and all(archives[name] == archive for name, archive in seen.items())
    assert len(seen) >= len(names) - 1
