"""The resolver as a library: an in-memory source, no index, no CLI, no pool.

A library user subclasses :class:`MetadataSource` and hands it to the Python provider; the
solver's answer is a :class:`Resolution`, and a failure is a :class:`NoSolution` whose
derivation tree and skipped versions can be inspected before (or instead of) rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.env.target import make_target
from xv.errors import ResolutionError
from xv.index.metadata import CoreMetadata
from xv.index.simple import DistFile, ProjectPage
from xv.resolver import provider as prov
from xv.resolver.candidates import Candidate
from xv.resolver.failure import NoSolution, render
from xv.resolver.pubgrub import NoVersions, Unavailable, UnavailableVersions, externals
from xv.resolver.resolve import run
from xv.resolver.result import Parent

# name -> version -> requires_dist; "!" after a version marks it yanked, "?" unreadable.
INDEX: dict[str, dict[str, tuple[str, ...]]] = {
    "web": {"1.0": ("http<2",), "2.0": ("http>=2", "json[fast]>=1")},
    "http": {"1.5": (), "2.0": (), "2.1!": (), "3.0b1": ()},
    "json": {"1.0": ("speedups; extra == 'fast'",), "1.1?": ()},
    "speedups": {"0.9": ()},
}


class MemorySource(prov.MetadataSource):
    """Pages and metadata from :data:`INDEX`; counts metadata requests."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def pages(self, names: Iterable[str]) -> Mapping[str, ProjectPage | None]:
        return {name: self._page(name) for name in names}

    def _page(self, name: str) -> ProjectPage | None:
        versions = INDEX.get(canonicalize_name(name))
        if versions is None:
            return None
        files = []
        for key in versions:
            version = key.rstrip("!?")
            filename = f"{name}-{version}-py3-none-any.whl"
            yanked = "yes" if key.endswith("!") else None
            files.append(DistFile(filename, f"mem://{filename}", yanked=yanked))
        return ProjectPage(name, tuple(files), "mem://")

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        out: dict[str, CoreMetadata | Unavailable] = {}
        for cand in cands:
            assert cand.metadata_file is not None
            name = cand.metadata_file.filename.split("-")[0]
            self.asked.append(f"{name}=={cand.version}")
            key = next(k for k in INDEX[name] if k.rstrip("!?") == str(cand.version))
            if key.endswith("?"):
                out[cand.metadata_file.url] = Unavailable("has unreadable metadata")
                continue
            reqs = INDEX[name][key]
            out[cand.metadata_file.url] = CoreMetadata(name, str(cand.version), reqs, None, ())
        return out


def resolve(*reqs: str, **settings: Any) -> dict[str, str]:
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement(r), Parent("requirement", "lib")) for r in reqs]
    )
    provider = prov.PythonProvider(
        inputs, prov.ResolverSettings(**settings), make_target("3.12", "linux"), MemorySource()
    )
    return {d.name: str(d.version) for d in run(provider).dists}


def test_resolves_from_memory_with_extras_and_yanked_versions() -> None:
    assert resolve("web") == {"web": "2.0", "http": "2.0", "json": "1.0", "speedups": "0.9"}
    assert resolve("web<2") == {"web": "1.0", "http": "1.5"}
    assert resolve("http==2.1") == {"http": "2.1"}  # yanked: only when pinned
    assert resolve("http>2.0", prerelease="allow") == {"http": "3.0b1"}


def test_a_failure_is_data_rendered_only_when_asked() -> None:
    with pytest.raises(NoSolution) as info:
        resolve("web==2.0", "http>2.0")
    failure = info.value
    assert isinstance(failure, ResolutionError) and failure.exit_code == 1
    leaves = list(externals(failure.tree))
    http = prov.PyPackage("http")
    assert any(isinstance(leaf, NoVersions) and leaf.package == http for leaf in leaves)
    assert failure.skipped["http"].yanked == (Version("2.1"),)
    assert failure.skipped["http"].prereleases == (Version("3.0b1"),)
    assert Version("1.5") in failure.versions[http]
    text = render(failure)
    assert text == str(failure)
    assert "hint: http==2.1 was yanked" in text
    assert "pre-releases are available for http" in text


def test_unavailable_metadata_rules_out_only_that_version() -> None:
    assert resolve("json") == {"json": "1.0"}
    with pytest.raises(NoSolution) as info:
        resolve("json>1.0")
    leaves = list(externals(info.value.tree))
    json = prov.PyPackage("json")
    unusable = [leaf for leaf in leaves if isinstance(leaf, UnavailableVersions)]
    assert [(u.package, u.reason) for u in unusable] == [(json, "has unreadable metadata")]
    assert unusable[0].range.contains(Version("1.1"))
    assert "json==1.1 has unreadable metadata" in render(info.value)
