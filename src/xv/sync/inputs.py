"""xv-sync's inputs: compiled requirement files read into the pins a sync installs.

As with pip-sync, several files make one set: their union, where the same name
pinned differently in two places is an error naming both lines. Markers are
evaluated for the target interpreter, so a lock made for several platforms
installs only what applies here. Every entry must be an exact pin (``==``),
or a wheel URL; anything that would need a build is refused by name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from urllib.parse import unquote, urldefrag, urlsplit

from packaging.version import InvalidVersion, Version

from xv.errors import InputError, InstallError
from xv.names import canonicalize_name
from xv.pylock import is_pylock
from xv.reqfile import (
    FileOptions,
    Origin,
    ParsedRequirement,
    RequirementsFile,
    merge_file_options,
    parse_file,
    parse_text,
)
from xv.sync.plan import SyncInputs, Wanted
from xv.urls import redact

_HASH_NAMES = ("sha256", "sha384", "sha512")
_NEEDS_BUILD = "needs a build, which xv-sync does not support yet; use a wheel"


def read_inputs(
    paths: Sequence[str | os.PathLike[str]],
    markers: Mapping[str, str],
    *,
    require_hashes: bool = False,
    environ: Mapping[str, str] | None = None,
) -> SyncInputs:
    """Read ``paths`` (union), keep the pins whose markers hold for ``markers``.

    Raises InputError (file:line) for an unpinned entry, a conflicting pin, or a
    pin without ``--hash`` under ``--require-hashes`` (given here or in a file);
    entries that need a build (sdist URL, VCS, ``-e``, directories) are set aside in
    ``direct``.
    """
    # Relative paths in a lock count from the lock's directory: xv-compile writes them
    # relative to its output file (for a lock in the working directory, as pip reads them).
    chosen: dict[str, tuple[Wanted, Origin]] = {}
    not_here: list[Origin] = []
    parsed = [
        # PEP 751 locks: index packages straight into chosen, direct ones as requirements.
        _read_pylock(path, markers, chosen, not_here)
        if is_pylock(path)
        else parse_file(path, environ=environ, working_dir=os.path.dirname(os.path.abspath(path)))
        for path in paths
    ]
    locked = {origin.file for _, origin in chosen.values()} | {o.file for o in not_here}
    options = merge_file_options(p.options for p in parsed)
    direct: list[ParsedRequirement] = []
    for item in (req for p in parsed for req in p.requirements):
        if not applies(item, markers):
            not_here.append(item.origin)
            continue
        if needs_build(item):
            if require_hashes or options.require_hashes:
                _check_direct_hashed(item)
            direct.append(item)
            continue
        want = wanted_from(item)
        if require_hashes or options.require_hashes:
            _check_hashed(want, item.origin)
        previous = chosen.get(want.canonical_name)
        chosen[want.canonical_name] = (
            (want, item.origin) if previous is None else _merge(previous, want, item.origin)
        )
    wanted = tuple(chosen[name][0] for name in sorted(chosen))
    origins = {name: origin for name, (_, origin) in chosen.items()}
    empty = tuple(
        os.fspath(path)
        for path, p in zip(paths, parsed, strict=True)
        if not p.requirements
        and not p.constraints
        and p.options == FileOptions()
        and os.fspath(path) not in locked
    )
    sources = tuple(source for p in parsed for source in p.sources)
    return SyncInputs(wanted, options, origins, tuple(not_here), empty, tuple(direct), sources)


def _read_pylock(
    path: str | os.PathLike[str],
    markers: Mapping[str, str],
    chosen: dict[str, tuple[Wanted, Origin]],
    not_here: list[Origin],
) -> RequirementsFile:
    """A ``pylock.toml``'s index packages into ``chosen`` (each with the lock's files to
    choose from and their hashes); its direct references come back as a requirement file."""
    from xv.pylock.read import select

    name = os.fspath(path)
    selected = select(name, markers)
    not_here += [Origin(name, line) for line in selected.not_here]
    for pkg in selected.index:
        hashes = tuple(sorted({f"{k}:{v}" for f in pkg.files for k, v in f.hashes.items()}))
        assert pkg.version is not None
        want, origin = Wanted(pkg.name, pkg.version, None, hashes, files=pkg.files), Origin(name, pkg.line)  # fmt: skip
        previous = chosen.get(pkg.name)
        chosen[pkg.name] = (want, origin) if previous is None else _merge(previous, want, origin)
    return parse_text(selected.direct_text, name, environ={}, strict_env=False)


def needs_build(item: ParsedRequirement) -> bool:
    """An entry that is not an index pin nor a named wheel URL."""
    if item.url is None:
        return False
    url = urldefrag(item.url).url
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    named = item.name or item.requirement is not None
    return (
        item.editable or not named or not filename.endswith(".whl") or "+" in urlsplit(url).scheme
    )


def applies(item: ParsedRequirement, markers: Mapping[str, str]) -> bool:
    """Whether the entry's marker holds for the target (no marker: always)."""
    if item.marker is None:
        return True
    from packaging.markers import UndefinedEnvironmentName  # loaded with the marker

    environment = {**markers, "extra": ""}
    try:
        return bool(item.marker.evaluate(environment))
    except UndefinedEnvironmentName as exc:
        raise InputError(f"cannot evaluate the marker: {exc}", *_where(item.origin)) from None


def wanted_from(item: ParsedRequirement) -> Wanted:
    """The :class:`Wanted` for one entry of a compiled file."""
    # A plain pin's requirement is not read (see xv.reqfile.model.PlainPin): name and pin are.
    name = item.name or (item.requirement.name if item.requirement is not None else None)
    if name is None and item.url is not None:
        raise InstallError(f"installing {redact(item.url)} {_NEEDS_BUILD}")
    if name is None:
        raise InputError("the entry has no package name", *_where(item.origin))
    hashes = tuple(sorted(set(item.hashes)))
    if item.url is not None:
        return _wanted_url(canonicalize_name(name), item, hashes)
    text = item.pinned
    if text is None:
        raise InputError(
            f"{item.text.strip()!r} is not pinned to one version (xv-sync installs exact "
            "pins, e.g. from xv-compile)",
            *_where(item.origin),
        )
    try:
        version = Version(text)
    except InvalidVersion:
        raise InputError(
            f"invalid version in {item.text.strip()!r}", *_where(item.origin)
        ) from None
    return Wanted(name, version, None, hashes)


def _wanted_url(name: str, item: ParsedRequirement, hashes: tuple[str, ...]) -> Wanted:
    url, fragment = urldefrag(item.url or "")
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if item.editable or not filename.endswith(".whl") or "+" in urlsplit(url).scheme:
        raise InstallError(f"{name}: installing {redact(url)} {_NEEDS_BUILD}", name)
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        wheel_name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        raise InputError(f"invalid wheel filename {filename!r}", *_where(item.origin)) from None
    if wheel_name != name:
        raise InputError(f"{filename} is not a wheel of {name}", *_where(item.origin))
    algorithm, _, digest = fragment.partition("=")
    if algorithm in _HASH_NAMES and digest:
        hashes = tuple(sorted({*hashes, f"{algorithm}:{digest.lower()}"}))
    return Wanted(name, version, item.url, hashes)


def _check_hashed(want: Wanted, origin: Origin) -> None:
    if not any(h.partition(":")[0] in _HASH_NAMES for h in want.hashes):
        raise InputError(
            f"--require-hashes: {want.canonical_name}=={want.version} has no --hash "
            "(sha256, sha384 or sha512)",
            *_where(origin),
        )


def _check_direct_hashed(item: ParsedRequirement) -> None:
    """As uv: an archive needs a --hash; a directory, an editable or a VCS entry has none
    to give, so it cannot be installed under --require-hashes."""
    url = item.url or ""
    if item.editable or "+" in urlsplit(url).scheme or not _is_archive(url):
        raise InputError(
            f"--require-hashes: {redact(url)} cannot be hashed (a directory, editable or "
            "VCS entry)",
            *_where(item.origin),
        )
    if not any(h.partition(":")[0] in _HASH_NAMES for h in item.hashes):
        raise InputError(f"--require-hashes: {redact(url)} has no --hash", *_where(item.origin))


def _is_archive(url: str) -> bool:
    """Whether the URL names an archive (something a hash can describe)."""
    path = unquote(urlsplit(urldefrag(url).url).path).lower()
    return path.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"))


def _merge(previous: tuple[Wanted, Origin], want: Wanted, origin: Origin) -> tuple[Wanted, Origin]:
    """The same pin twice is fine (both hash sets must allow the file); else an error."""
    first, first_origin = previous
    if (first.version, first.url) != (want.version, want.url):
        raise InputError(
            f"conflicting pins for {want.canonical_name}: {_spec(first)} at {first_origin}, "
            f"{_spec(want)} here",
            *_where(origin),
        )
    if first.hashes and want.hashes:
        common = tuple(sorted(set(first.hashes) & set(want.hashes)))
        if not common:
            raise InputError(
                f"{want.canonical_name}: its --hash values share nothing with those at "
                f"{first_origin}",
                *_where(origin),
            )
        return dataclasses.replace(first, hashes=common, files=first.files or want.files), first_origin  # fmt: skip
    hashes = first.hashes or want.hashes
    return dataclasses.replace(first, hashes=hashes, files=first.files or want.files), first_origin


def _spec(want: Wanted) -> str:
    if want.url is not None:
        return f"{want.canonical_name} @ {redact(want.url)}"
    return f"{want.canonical_name}=={want.version}"


def _where(origin: Origin) -> tuple[str, int]:
    return origin.file, origin.line
