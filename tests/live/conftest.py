"""Tests that use the real default index; ``XV_SKIP_LIVE=1`` skips them."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("XV_SKIP_LIVE") != "1":
        return
    skip = pytest.mark.skip(reason="XV_SKIP_LIVE=1")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)
