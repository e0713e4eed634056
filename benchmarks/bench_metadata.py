"""Benchmark: core metadata of ~150 popular projects from the default index.

For each project the latest release's best wheel is chosen (pick_metadata_file),
then its metadata is fetched cold (a fresh cache directory per run) through
WorkerPool(kind="process"), kind="thread", kind="serial" and a hybrid (a few
processes each running a thread pool), and finally looked up warm from the
cache. Run: ``python benchmarks/bench_metadata.py [--workers N] [--limit N]``.

The index's mirror may fill its own cache on first access, so an untimed
priming pass runs first unless ``--no-prime`` is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from xv.cache import Cache
from xv.index.client import IndexClient, IndexSettings, remember_client
from xv.index.metadata import (
    CoreMetadata,
    fetch_metadata_job,
    file_to_plain,
    pick_metadata_file,
    prefetch_metadata,
    result_from_plain,
)
from xv.index.simple import DistFile
from xv.pool import JobResult, WorkerPool, default_workers

PROJECTS = [
    "boto3",
    "botocore",
    "urllib3",
    "requests",
    "setuptools",
    "certifi",
    "idna",
    "charset-normalizer",
    "typing-extensions",
    "python-dateutil",
    "packaging",
    "s3transfer",
    "six",
    "aiobotocore",
    "numpy",
    "pyyaml",
    "fsspec",
    "s3fs",
    "cryptography",
    "pip",
    "grpcio-status",
    "cffi",
    "attrs",
    "pycparser",
    "pandas",
    "importlib-metadata",
    "protobuf",
    "jmespath",
    "rsa",
    "zipp",
    "pyasn1",
    "platformdirs",
    "click",
    "markupsafe",
    "wheel",
    "pydantic",
    "jinja2",
    "pytz",
    "colorama",
    "filelock",
    "cachetools",
    "virtualenv",
    "tomli",
    "pluggy",
    "pyjwt",
    "wrapt",
    "pyasn1-modules",
    "google-auth",
    "pytest",
    "jsonschema",
    "googleapis-common-protos",
    "aiohttp",
    "pydantic-core",
    "sqlalchemy",
    "iniconfig",
    "multidict",
    "yarl",
    "annotated-types",
    "psutil",
    "frozenlist",
    "tzdata",
    "exceptiongroup",
    "soupsieve",
    "pyarrow",
    "aiosignal",
    "requests-oauthlib",
    "oauthlib",
    "beautifulsoup4",
    "greenlet",
    "pygments",
    "distlib",
    "tqdm",
    "werkzeug",
    "docutils",
    "grpcio",
    "scipy",
    "decorator",
    "isodate",
    "h11",
    "openpyxl",
    "httpx",
    "httpcore",
    "anyio",
    "sniffio",
    "rich",
    "et-xmlfile",
    "pillow",
    "more-itertools",
    "lxml",
    "proto-plus",
    "google-api-core",
    "tomlkit",
    "requests-toolbelt",
    "flask",
    "itsdangerous",
    "msgpack",
    "coverage",
    "mccabe",
    "pyparsing",
    "websocket-client",
    "markdown-it-py",
    "mdurl",
    "regex",
    "pyopenssl",
    "async-timeout",
    "sortedcontainers",
    "gitpython",
    "gitdb",
    "smmap",
    "deprecated",
    "shellingham",
    "poetry-core",
    "keyring",
    "jaraco-classes",
    "trove-classifiers",
    "pkginfo",
    "rapidfuzz",
    "dulwich",
    "build",
    "pyproject-hooks",
    "installer",
    "cachecontrol",
    "crashtest",
    "cleo",
    "azure-core",
    "msal",
    "portalocker",
    "tabulate",
    "networkx",
    "sympy",
    "mpmath",
    "joblib",
    "threadpoolctl",
    "scikit-learn",
    "matplotlib",
    "kiwisolver",
    "cycler",
    "fonttools",
    "contourpy",
    "redis",
    "uvicorn",
    "fastapi",
    "starlette",
    "python-dotenv",
    "websockets",
    "typer",
    "toml",
    "prompt-toolkit",
    "wcwidth",
    "ruff",
    "black",
    "mypy",
    "mypy-extensions",
    "pathspec",
    "nodeenv",
    "identify",
    "cfgv",
    "pre-commit",
]


def latest_best_wheel(files: Sequence[DistFile]) -> DistFile | None:
    """The best wheel of the newest final release that has wheels."""
    by_version: dict[Version, list[DistFile]] = {}
    for file in files:
        if not file.is_wheel or file.is_yanked:
            continue
        try:
            version = parse_wheel_filename(file.filename)[1]
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if not version.is_prerelease:
            by_version.setdefault(version, []).append(file)
    if not by_version:
        return None
    return pick_metadata_file(by_version[max(by_version)])


def hybrid_job(
    settings: IndexSettings, cache: Cache, plains: list[tuple[Any, ...]], threads: int
) -> list[tuple[Any, ...]]:
    """A process-pool job that fetches a chunk of files on its own thread pool."""
    with ThreadPoolExecutor(threads) as executor:
        return list(executor.map(lambda p: fetch_metadata_job(settings, cache, p), plains))


def run_hybrid(
    client: IndexClient, files: list[DistFile], processes: int, threads: int
) -> dict[str, Any]:
    chunks = [files[i::processes] for i in range(processes)]
    jobs = [
        (client.settings, client.cache, [file_to_plain(f) for f in chunk], threads)
        for chunk in chunks
    ]
    results: dict[str, Any] = {}
    with WorkerPool(processes, kind="process") as pool:
        outcomes: list[JobResult] = pool.map(hybrid_job, jobs)
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        assert outcome.ok, outcome.error
        for file, plain in zip(chunk, outcome.value, strict=True):
            results[file.url] = result_from_plain(plain, file)
    return results


def timed_cold(
    label: str, settings: IndexSettings, files: list[DistFile], kind: str, workers: int
) -> tuple[str, float, int]:
    with tempfile.TemporaryDirectory(prefix="xv-bench-") as tmp:
        client = IndexClient(settings, Cache(Path(tmp)))
        remember_client(client)
        start = time.perf_counter()
        if kind == "hybrid":
            results = run_hybrid(client, files, processes=2, threads=max(1, workers // 2))
        else:
            with WorkerPool(workers, kind=kind) as pool:
                results = prefetch_metadata(client, files, pool)
        elapsed = time.perf_counter() - start
    ok = sum(isinstance(v, CoreMetadata) for v in results.values())
    return label, elapsed, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=default_workers("io"))
    parser.add_argument("--limit", type=int, default=len(PROJECTS))
    parser.add_argument("--no-prime", action="store_true")
    args = parser.parse_args(argv)
    settings = IndexSettings()
    names = PROJECTS[: args.limit]

    with tempfile.TemporaryDirectory(prefix="xv-bench-pages-") as tmp:
        client = IndexClient(settings, Cache(Path(tmp)))
        start = time.perf_counter()
        pages = client.project_pages(names)
        pages_cold = time.perf_counter() - start
        start = time.perf_counter()
        IndexClient(settings, Cache(Path(tmp))).project_pages(names)
        pages_warm = time.perf_counter() - start
    files = [f for p in pages.values() if p is not None and (f := latest_best_wheel(p.files))]
    print(f"{len(names)} projects, {len(files)} with wheels; workers={args.workers}")
    print(f"index pages: cold {pages_cold:.2f}s (16 threads), warm {pages_warm:.3f}s")
    if not args.no_prime:
        timed_cold("prime", settings, files, "thread", 16)

    w = args.workers
    rows = [
        timed_cold(f"process x{w}", settings, files, "process", w),
        timed_cold(f"thread x{w}", settings, files, "thread", w),
        timed_cold("thread x16", settings, files, "thread", 16),
        timed_cold("serial", settings, files, "serial", 1),
        timed_cold(f"hybrid 2 proc x {max(1, w // 2)} thr", settings, files, "hybrid", w),
        timed_cold("hybrid 2 proc x 8 thr", settings, files, "hybrid", 16),
    ]
    warm = timed_warm(settings, files)
    report(rows, warm, len(files))
    return 0


def timed_warm(settings: IndexSettings, files: list[DistFile]) -> tuple[float, float, bool]:
    """Cold (threads) into one cache, then the warm lookup through an unstarted process pool."""
    with tempfile.TemporaryDirectory(prefix="xv-bench-warm-") as tmp:
        with WorkerPool(16, kind="thread") as pool:
            start = time.perf_counter()
            prefetch_metadata(IndexClient(settings, Cache(Path(tmp))), files, pool)
            cold = time.perf_counter() - start
        pool = WorkerPool(kind="process")
        start = time.perf_counter()
        results = prefetch_metadata(IndexClient(settings, Cache(Path(tmp))), files, pool)
        warm = time.perf_counter() - start
        pool.close()
        assert all(isinstance(v, CoreMetadata) for v in results.values())
        return cold, warm, pool.started


def report(rows: list[tuple[str, float, int]], warm: tuple[float, float, bool], n: int) -> None:
    times = {label: seconds for label, seconds, _ in rows}
    print(f"\n{'mode':<28}{'seconds':>9}{'ok':>6}")
    for label, seconds, ok in rows:
        print(f"{label:<28}{seconds:>9.2f}{ok:>6}/{n}")
    process, thread, serial = rows[0][1], rows[1][1], times["serial"]
    cold, warm_s, started = warm
    print(f"{'warm (process pool)':<28}{warm_s:>9.3f}   pool started: {started}")
    print("\nratios")
    print(f"  process/thread (same workers) {process / thread:6.2f}")
    print(f"  process/serial                {process / serial:6.2f}")
    print(f"  warm/cold (thread x16 cold {cold:.2f}s) {warm_s / cold:8.4f}")


if __name__ == "__main__":
    sys.exit(main())
