"""Benchmark: how long one large index page takes to download beside Python work.

A cold compile downloads index pages on fetch threads while other threads parse pages and
the solver runs. Reading a TLS response gives up the interpreter lock once per TLS record
(16 kB at most), and a thread that gave it up waits for it again until the thread holding
it is asked to let go, which happens after the switch interval (5 ms by default). A
multi-MB page is hundreds of records, so beside a busy thread its download is paced by the
switch interval rather than by the network (the "convoy effect").

This measures that directly, through xv's own HTTP layer (:class:`xv.index.http.Http`,
as a compile uses it): the median time of ``--runs`` GETs of one project's page from the
default index, alone, then beside one and two threads that parse an index page over and
over (what a compile's other fetch threads do), each with the default switch interval and
with a shorter one. The pages' bytes are printed too: an index that compresses its pages
sends several times fewer records.

Run: ``python benchmarks/bench_convoy.py [--project NAME] [--runs N] [--interval S]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from xv.index import pageform, simple
from xv.index.http import Http
from xv.index.settings import IndexSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default="pydantic-core", help="a project with a large page")
    parser.add_argument(
        "--busy-project", default="sqlalchemy", help="the page the busy threads parse"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--interval", type=float, default=0.0005, help="the shorter switch interval"
    )
    args = parser.parse_args()

    settings = IndexSettings()
    http = Http(settings.http_config())
    index = settings.index_url.rstrip("/")
    headers = {"Accept": simple.ACCEPT}

    def get(project: str) -> tuple[bytes, str, str]:
        response = http.get(f"{index}/{project}/", headers)
        content_type = response.headers.get("Content-Type", "")
        return response.content, content_type, response.url

    body, _, _ = get(args.project)  # the connection is open from here on
    busy_body, busy_type, busy_url = get(args.busy_project)
    print(
        f"{args.project}: {len(body) / 1e6:.2f} MB ({len(body) // 16384 + 1} TLS records at least); "
        f"busy threads parse {args.busy_project} ({len(busy_body) / 1e6:.2f} MB); "
        f"median of {args.runs} GETs; Python {sys.version.split()[0]}"
    )

    def parse_forever(stop: threading.Event) -> None:
        while not stop.is_set():
            pageform.plain_from_body(busy_body, busy_type, busy_url, args.busy_project, index)

    default_interval = sys.getswitchinterval()
    alone: float | None = None
    for interval in (default_interval, args.interval):
        sys.setswitchinterval(interval)
        for busy in (0, 1, 2):
            stop = threading.Event()
            threads = [threading.Thread(target=parse_forever, args=(stop,)) for _ in range(busy)]
            for thread in threads:
                thread.start()
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                get(args.project)
                times.append(time.perf_counter() - start)
            stop.set()
            for thread in threads:
                thread.join()
            median = statistics.median(times)
            if alone is None:
                alone = median
            print(
                f"  switch interval {interval * 1000:4.1f} ms, {busy} busy thread(s): "
                f"{median * 1000:7.0f} ms ({median / alone:5.1f}x alone)"
            )
    sys.setswitchinterval(default_interval)


if __name__ == "__main__":
    main()
