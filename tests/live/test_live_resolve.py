"""Resolutions against the real default index, checked for completeness.

Each case resolves for the running Python; then an independent checker re-reads
the core metadata of every chosen distribution and asserts that each requirement
whose marker applies (with the extras asked of it) is met by a chosen version,
and that every input is met. One cache is shared by the whole module, as a user's
cache would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.cache import Cache
from xv.env.target import Target, make_target
from xv.errors import ResolutionError
from xv.index.client import IndexClient, IndexSettings
from xv.index.metadata import CoreMetadata, get_metadata
from xv.pool import WorkerPool
from xv.resolver import provider as prov
from xv.resolver.index_source import IndexSource
from xv.resolver.resolve import run
from xv.resolver.result import Parent, Resolution

pytestmark = pytest.mark.live

FASTAPI_STARLETTE = (
    "Because fastapi==0.110.0 depends on starlette>=0.36.3,<0.37.0 and you require "
    "fastapi==0.110.0, we can conclude that you require starlette>=0.36.3,<0.37.0.\n"
    "And because you require starlette==0.37.2, we can conclude that your requirements "
    "are unsatisfiable."
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> IndexClient:
    return IndexClient(IndexSettings(), Cache(Path(tmp_path_factory.mktemp("xv-cache"))))


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool() as p:
        yield p


def resolve(
    client: IndexClient, pool: WorkerPool, reqs: list[str]
) -> tuple[Resolution, prov.PythonProvider]:
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement(r), Parent("requirement", "-")) for r in reqs]
    )
    provider = prov.PythonProvider(
        inputs, prov.ResolverSettings(), make_target(), IndexSource(client, pool)
    )
    return run(provider), provider


def applies(req: Requirement, target: Target, extras: frozenset[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**target.markers, "extra": extra}) for extra in ("", *extras))


def check_consistent(
    client: IndexClient, res: Resolution, provider: prov.PythonProvider, reqs: list[str]
) -> None:
    """Every input and every requirement of every chosen distribution is satisfied."""
    target = provider.target
    chosen = {d.name: d for d in res.dists}
    problems: list[str] = []

    def check(req: Requirement, extras: frozenset[str], who: str) -> None:
        if not applies(req, target, extras):
            return
        dist = chosen.get(canonicalize_name(req.name))
        if dist is None:
            problems.append(f"{who} needs {req}, which was not chosen")
        elif not req.specifier.contains(dist.version, prereleases=True):
            problems.append(f"{who} needs {req}, but {dist.name}=={dist.version} was chosen")
        elif not {canonicalize_name(e) for e in req.extras} <= dist.extras:
            problems.append(f"{who} needs {req}, but {dist.name} lacks extras")

    for text in reqs:
        check(Requirement(text), frozenset(), "the input")
    for dist in res.dists:
        cand = provider.candidate(dist.name, dist.version)
        assert cand is not None and cand.metadata_file is not None, dist.name
        meta = get_metadata(client, cand.metadata_file)  # read again, from the cache
        assert isinstance(meta, CoreMetadata), f"{dist.name}: {meta}"
        assert Version(meta.version) == dist.version
        assert target.allows_requires_python(meta.requires_python), dist.name
        for line in meta.requires_dist:
            check(Requirement(line), dist.extras, f"{dist.name}=={dist.version}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "reqs",
    [
        ["django>=4.2", "celery[redis]"],
        ["boto3", "urllib3<1.25.4"],
        ["pandas"],
        ["jupyter"],
        ["apache-airflow"],
    ],
    ids=["django-celery", "boto3-old-urllib3", "pandas", "jupyter", "airflow"],
)
def test_resolves_completely_and_consistently(
    client: IndexClient, pool: WorkerPool, reqs: list[str]
) -> None:
    res, provider = resolve(client, pool, reqs)
    names = {d.name for d in res.dists}
    assert {canonicalize_name(Requirement(r).name) for r in reqs} <= names
    check_consistent(client, res, provider, reqs)


def test_boto3_with_old_urllib3_walks_back_to_a_compatible_pair(
    client: IndexClient, pool: WorkerPool
) -> None:
    res, _ = resolve(client, pool, ["boto3", "urllib3<1.25.4"])
    pins = res.by_name()
    # The newest botocore that allows urllib3 below 1.25.4, and the boto3 made for it.
    assert str(pins["botocore"].version) == "1.18.18"
    assert str(pins["boto3"].version) == "1.15.18"


def test_fastapi_and_a_newer_starlette_fail_with_uvs_explanation(
    client: IndexClient, pool: WorkerPool
) -> None:
    with pytest.raises(ResolutionError) as err:
        resolve(client, pool, ["fastapi==0.110.0", "starlette==0.37.2"])
    assert str(err.value) == FASTAPI_STARLETTE
