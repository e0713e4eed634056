"""Shared fixtures. The local package index lives in tests/support/localindex."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.support.localindex import LocalIndex, Pkg

MakeIndex = Callable[..., LocalIndex]

# No test asserts a time: hypothesis's per-example deadline (200 ms) failed property tests
# on a loaded machine, so it is off for the whole suite.
settings.register_profile("xv", deadline=None)
settings.load_profile("xv")


@pytest.fixture(scope="session")
def localindex_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built artifacts keyed by a digest of each Pkg's fields, shared by the session."""
    return tmp_path_factory.mktemp("localindex-build-cache")


@pytest.fixture
def xv_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A command run as a new user would: in ``tmp_path``, no ``XV_*`` setting from the
    machine, a cache of its own under ``tmp_path / "cache"``."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("XV_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def bare_home(xv_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """:func:`xv_home` outside any virtualenv or conda environment (``VIRTUAL_ENV`` and
    ``CONDA_PREFIX`` cleared, so a sync targets the interpreter a test names)."""
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return xv_home


@pytest.fixture
def clean_home(bare_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """:func:`bare_home` with the pool on threads."""
    monkeypatch.setenv("XV_POOL", "thread")
    return bare_home


@pytest.fixture
def make_index(localindex_build_cache: Path) -> Iterator[MakeIndex]:
    """``make_index(pkgs, **switches) -> LocalIndex``; every index is closed at teardown."""
    indexes: list[LocalIndex] = []

    def factory(pkgs: Iterable[Pkg] = (), **switches: Any) -> LocalIndex:
        switches.setdefault("build_cache", localindex_build_cache)
        index = LocalIndex(pkgs, **switches)
        indexes.append(index)
        return index

    yield factory
    for index in indexes:
        index.close()
