"""Large downloads let through by page parses (xv.index.convoy, xv.index.jsonpage)."""

from __future__ import annotations

import json
import time

import pytest

import xv.index.convoy as convoy
import xv.index.jsonpage as jsonpage


def _page(files: int) -> str:
    return json.dumps({"meta": {"api-version": "1.1"}, "files": [{"n": i} for i in range(files)]})


@pytest.fixture
def let_through(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each call of convoy.let_through, as the number of downloads then in flight."""
    calls: list[int] = []
    monkeypatch.setattr(convoy, "let_through", lambda: calls.append(convoy.in_flight()))
    return calls


def test_downloads_in_flight_are_counted_and_uncounted_on_failure() -> None:
    assert convoy.in_flight() == 0
    with convoy.downloading():
        with convoy.downloading():
            assert convoy.in_flight() == 2
        with pytest.raises(OSError), convoy.downloading():
            raise OSError("the body broke")
        assert convoy.in_flight() == 1
    assert convoy.in_flight() == 0


def test_a_parse_lets_a_download_through_every_so_many_files(let_through: list[int]) -> None:
    every = jsonpage.LET_THROUGH_EVERY
    seen: list[object] = []
    with convoy.downloading():
        jsonpage.walk_page(_page(3 * every + 1), seen.append)
    assert let_through == [1, 1, 1]  # after file 64, 128 and 192, each with one in flight
    assert seen == [{"n": i} for i in range(3 * every + 1)]  # the files are all there


def test_a_parse_with_no_download_in_flight_never_lets_go(let_through: list[int]) -> None:
    jsonpage.walk_page(_page(5 * jsonpage.LET_THROUGH_EVERY), lambda _: None)
    assert let_through == []


def test_letting_through_gives_up_the_lock_only_for_a_download(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``time.sleep(0)`` releases the interpreter lock (a thread waiting for it takes it);
    it is called only while a large download is in flight."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # convoy calls time.sleep
    convoy.let_through()
    assert slept == []
    with convoy.downloading():
        convoy.let_through()
    assert slept == [0]
