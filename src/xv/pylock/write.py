"""``xv-compile --format pylock.toml``: a resolution as a PEP 751 lock, in uv's layout.

What ``uv pip compile --format pylock.toml`` writes (checked side by side): the header
comment, ``lock-version``, ``created-by``, ``requires-python`` (``>=`` the target's Python:
``--python-version`` as given, else the interpreter's full version), then one
``[[packages]]`` table per pin, with ``name``, ``version``, ``marker`` (universal locks),
the ``sdist`` and the ``wheels`` as inline tables (``url``, ``upload-time`` to the second,
``size``, ``hashes``). For one target only the wheels it can install are listed; a
universal lock lists them all. Direct references become ``archive`` (a URL or a path, with
its hash), ``vcs`` (git, pinned to the commit) or ``directory`` (``editable = true`` for
``-e``) tables.

One addition to uv's output: ``index``, the index the files come from, when that is
certain (a single index and no find-links), as PEP 751 recommends for SBOM tools. URLs never
carry credentials.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urlsplit
from urllib.request import url2pathname

from xv.errors import OutputError
from xv.pylock import toml

if TYPE_CHECKING:
    from xv.env.target import Target
    from xv.index.simple import DistFile
    from xv.lockfile import RenderOptions
    from xv.resolver.result import Resolution, ResolvedDist

LOCK_VERSION = "1.0"
_HASHES = ("sha256", "sha384", "sha512")


def render(resolution: Resolution, opts: RenderOptions, target: Target | None) -> str:
    """The ``pylock.toml`` text: for a universal lock (or without ``target``) every wheel,
    else those ``target`` can install."""
    from xv.lockfile import HEADER, strip_credentials

    out: list[str] = []
    if opts.header:
        out += [HEADER, f"#    {opts.command}"]
    out += [
        f"lock-version = {toml.string(LOCK_VERSION)}",
        'created-by = "xv"',
        f"requires-python = {toml.string('>=' + _python(opts, target))}",
    ]
    index = None
    if opts.index_url is not None and not opts.extra_index_urls and not opts.find_links:
        index = strip_credentials(opts.index_url)
    skipped = set(opts.no_emit_packages)
    for dist in sorted(resolution.dists, key=lambda d: d.name):
        if dist.name in skipped:
            continue
        out += ["", "[[packages]]", *_package(dist, index, None if opts.universal else target)]
    return "\n".join(out) + "\n"


def _python(opts: RenderOptions, target: Target | None) -> str:
    """uv's lower bound: --python-version as given, else the target's version (its minor
    version for a universal lock)."""
    if opts.python_version:
        return opts.python_version
    if target is None:
        return "3"
    return target.markers.get("python_version" if opts.universal else "python_full_version", "3")  # fmt: skip


def _package(dist: ResolvedDist, index: str | None, target: Target | None) -> Iterator[str]:
    from xv.lockfile import strip_credentials

    yield f"name = {toml.string(dist.name)}"
    yield f"version = {toml.string(str(dist.version))}"
    if dist.marker:
        yield f"marker = {toml.string(dist.marker)}"
    if dist.url is not None:
        key, table = _direct(dist, strip_credentials(dist.url))
        yield f"{key} = {toml.value(table)}"
        return
    if index is not None:
        yield f"index = {toml.string(index)}"
    sdists = [f for f in dist.files if not f.is_wheel and f.filename.endswith((".tar.gz", ".zip"))]
    if sdists:
        yield f"sdist = {toml.value(_file(sdists[0]))}"
    wheels = sorted(
        (f for f in dist.files if f.is_wheel and _fits(f, target)), key=lambda f: f.filename
    )
    if wheels:
        yield from toml.array_of_inline_tables("wheels", [_file(w) for w in wheels])


def _fits(file: DistFile, target: Target | None) -> bool:
    return target is None or target.wheel_priority(file.filename) is not None


def _file(file: DistFile) -> dict[str, Any]:
    from xv.lockfile import strip_credentials

    table: dict[str, Any] = {}
    local = _local_path(file.url)
    if local is not None:
        table["path"] = local
    else:
        table["url"] = strip_credentials(file.url)
    when = _upload_time(file.upload_time)
    if when is not None:
        table["upload-time"] = when
    if file.size is not None:
        table["size"] = file.size
    table["hashes"] = _hashes(file, local)
    return table


def _hashes(file: DistFile, local: str | None) -> dict[str, str]:
    known = {k: v.lower() for k, v in file.hashes.items() if k in _HASHES}
    if "sha256" in known:
        return {"sha256": known["sha256"]}
    if known:
        return known
    if local is not None and os.path.isfile(local):
        with open(local, "rb") as handle:
            return {"sha256": hashlib.file_digest(handle, "sha256").hexdigest()}
    raise OutputError(
        f"cannot lock {file.filename} in pylock.toml: its index gives no sha256 hash, and "
        "PEP 751 locks need one"
    )


def _upload_time(text: str | None) -> datetime | None:
    """The index's ISO 8601 time, in UTC to the second (as uv writes it)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def _local_path(url: str) -> str | None:
    if url.startswith("file:"):
        return url2pathname(unquote(urlsplit(url).path))
    return url if "://" not in url else None


def _direct(dist: ResolvedDist, url: str) -> tuple[str, dict[str, Any]]:
    """``archive``, ``vcs`` or ``directory`` for a direct reference."""
    plain, fragment = urldefrag(url)
    subdirectory = dict(p.split("=", 1) for p in fragment.split("&") if "=" in p).get(
        "subdirectory"
    )
    extra = {"subdirectory": subdirectory} if subdirectory else {}
    scheme = urlsplit(plain).scheme
    if scheme.startswith("git+"):
        repo, _, commit = plain[len("git+") :].rpartition("@")
        return "vcs", {"type": "git", "url": repo, "commit-id": commit, **extra}
    local = _local_path(plain)
    if dist.editable or (local is not None and os.path.isdir(local)) or not dist.files:
        table: dict[str, Any] = {"path": local if local is not None else plain}
        if dist.editable:
            table["editable"] = True
        return "directory", {**table, **extra}
    where = {"path": local} if local is not None else {"url": plain}
    return "archive", {**where, "hashes": _hashes(dist.files[0], local), **extra}
