"""The client and metadata against the real default index (no PEP 658 files here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from xv.cache import Cache
from xv.index.client import IndexClient, IndexSettings
from xv.index.metadata import CoreMetadata, get_metadata, pick_metadata_file
from xv.index.simple import DistFile

pytestmark = pytest.mark.live


def latest_wheel(client: IndexClient, name: str) -> tuple[Version, list[DistFile]]:
    page = client.project_page(name)
    assert page is not None and page.files
    wheels = [f for f in page.files if f.is_wheel and not f.is_yanked]
    latest = max(parse_wheel_filename(f.filename)[1] for f in wheels)
    return latest, [f for f in wheels if parse_wheel_filename(f.filename)[1] == latest]


def test_botocore_metadata_by_range_requests(tmp_path: Path) -> None:
    client = IndexClient(IndexSettings(), Cache(tmp_path))
    version, wheels = latest_wheel(client, "botocore")
    wheel = pick_metadata_file(wheels)
    received: list[int] = []
    send = client.http.request

    def counted(*args: Any, **kwargs: Any) -> Any:
        response = send(*args, **kwargs)
        received.append(len(response.content))
        return response

    client.http.request = counted  # type: ignore[method-assign]
    try:
        meta = get_metadata(client, wheel)
    finally:
        del client.http.request
    assert isinstance(meta, CoreMetadata)
    assert (meta.name.lower(), Version(meta.version)) == ("botocore", version)
    assert any(req.startswith("jmespath") for req in meta.requires_dist)
    assert wheel.size is not None and wheel.size > 5_000_000
    assert 0 < sum(received) < 1_000_000, received
    print(f"botocore {version}: {wheel.size} byte wheel, {received} bytes received")


def test_page_cache_round_trip(tmp_path: Path) -> None:
    first = IndexClient(IndexSettings(), Cache(tmp_path)).project_page("packaging")
    offline = IndexClient(IndexSettings(offline=True), Cache(tmp_path)).project_page("packaging")
    assert first is not None and offline == first
    assert (
        IndexClient(IndexSettings(), Cache(tmp_path)).project_page("xv-no-such-project-42") is None
    )
