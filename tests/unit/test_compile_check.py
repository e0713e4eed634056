"""--check's record: what its key covers, when it may answer, and that it answers alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from xv.compile import check as compile_check
from xv.compile.options import (
    CacheSettings,
    CompileOptions,
    InputRequirement,
    Inputs,
    ResolverSettings,
)
from xv.errors import OfflineError
from xv.index.settings import IndexSettings
from xv.lockfile import HEADER, RenderOptions
from xv.reqfile import parse_text
from xv.resolver.result import Parent, Resolution

LOCK = f"{HEADER}\n#    xv-compile r.in -o r.txt\nidna==3.10\n    # via -r r.in\n"


def options(tmp_path: Path, text: str = "idna\n", **resolver: Any) -> CompileOptions:
    parsed = parse_text(text, "r.in", environ={})
    reqs = tuple(InputRequirement(r, Parent("requirement", "r.in")) for r in parsed.requirements)
    return CompileOptions(
        inputs=Inputs(src_files=("r.in",), requirements=reqs),
        index=IndexSettings(index_url="https://example.org/simple"),
        resolver=ResolverSettings(**resolver),
        cache=CacheSettings(cache_dir=str(tmp_path / "cache")),
    )


def test_the_key_ignores_the_command_line_but_nothing_that_shapes_the_file(
    tmp_path: Path,
) -> None:
    base = options(tmp_path)
    key = compile_check.fingerprint(base, LOCK)
    assert key is not None
    assert compile_check.fingerprint(base, LOCK.replace("r.in -o r.txt", "make lock")) == key
    others = [
        compile_check.fingerprint(base, LOCK.replace("3.10", "3.9")),
        compile_check.fingerprint(options(tmp_path, "idna<4\n"), LOCK),
        compile_check.fingerprint(options(tmp_path, python_version="3.12"), LOCK),
        compile_check.fingerprint(options(tmp_path, exclude_newer="2024-01-01"), LOCK),
        compile_check.fingerprint(
            dataclasses.replace(base, render=RenderOptions(generate_hashes=True)), LOCK
        ),
        compile_check.fingerprint(
            dataclasses.replace(base, index=IndexSettings(index_url="https://other/simple")), LOCK
        ),
    ]
    assert key not in others and len(set(others)) == len(others)


@pytest.mark.parametrize(
    "index", [IndexSettings(index_url="file:///srv/simple"), IndexSettings(find_links=("w/",))]
)
def test_no_key_for_local_locations(tmp_path: Path, index: IndexSettings) -> None:
    opts = dataclasses.replace(options(tmp_path), index=index)
    assert compile_check.fingerprint(opts, LOCK) is None


def refuse(*args: Any, **kwargs: Any) -> Resolution:
    raise OfflineError("offline, and the index page is not in the cache: idna")


def test_a_record_answers_without_resolving(tmp_path: Path) -> None:
    opts = options(tmp_path)
    assert not compile_check.is_fresh(opts, LOCK, refuse)
    compile_check.remember(opts, LOCK)
    assert compile_check.is_fresh(opts, LOCK, refuse)
    assert not compile_check.is_fresh(opts, LOCK.replace("3.10", "3.9"), refuse)
    for asked_again in (
        dataclasses.replace(opts, index=dataclasses.replace(opts.index, refresh=True)),
        options(tmp_path, upgrade=True),
        options(tmp_path, upgrade_packages=("idna",)),
    ):
        assert not compile_check.is_fresh(asked_again, LOCK, refuse)


def test_no_cache_means_no_record(tmp_path: Path) -> None:
    opts = dataclasses.replace(options(tmp_path), cache=CacheSettings(no_cache=True))
    compile_check.remember(opts, LOCK)
    assert not compile_check.is_fresh(opts, LOCK, refuse)
    assert not (tmp_path / "cache").exists()


def with_index(opts: CompileOptions, url: str, text: str = "idna\n") -> CompileOptions:
    parsed = parse_text(text, "r.in", environ={})
    reqs = tuple(InputRequirement(r, Parent("requirement", "r.in")) for r in parsed.requirements)
    inputs = dataclasses.replace(opts.inputs, requirements=reqs)
    return dataclasses.replace(opts, inputs=inputs, index=IndexSettings(index_url=url))


def test_the_record_is_the_same_whatever_the_password_and_holds_none(tmp_path: Path) -> None:
    base = options(tmp_path)
    direct = "idna @ https://me:tok-1@example.org/idna-3.10-py3-none-any.whl\n"
    first = with_index(base, "https://alice:pw-one@example.org/simple", direct)
    compile_check.remember(first, LOCK)
    rotated = with_index(base, "https://alice:pw-two@example.org/simple", direct.replace("tok-1", "tok-2"))  # fmt: skip
    assert compile_check.is_fresh(rotated, LOCK, refuse)  # the record, not a resolution
    records = list((tmp_path / "cache").rglob("*"))  # the interpreter's facts are there too
    assert len([p for p in records if p.is_file() and p.parent.name == "check-v1"]) == 1
    for path in records:
        assert "pw-one" not in path.name and "tok-1" not in path.name
        if path.is_file():
            assert b"pw-one" not in path.read_bytes() and b"tok-1" not in path.read_bytes()
    other_user = with_index(base, "https://bob:pw-one@example.org/simple", direct)
    assert not compile_check.is_fresh(other_user, LOCK, refuse)
