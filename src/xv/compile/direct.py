"""xv-compile's direct references and built project inputs.

Every input that names a location (``name @ URL``, a path, ``-e ./dir``, a git
URL) is made concrete before the solver starts: its metadata is read or built
(:mod:`xv.build.direct`) and it becomes the one candidate of its package. What
the lock writes for it follows uv: a path given as a path stays a path, written
relative to the output file's directory (never made absolute); a git URL is
pinned to the commit it resolved to; credentials are never written.

Inputs ``setup.py``, ``setup.cfg``, a ``pyproject.toml`` with dynamic
dependencies, or a directory contribute the dependencies of the project they
define, read from its built metadata (as pip-compile and uv do).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from xv.compile.options import InputRequirement
from xv.env.target import Target
from xv.errors import InputError
from xv.index.simple import DistFile
from xv.lockfile import strip_credentials
from xv.resolver.candidates import DirectCandidate
from xv.resolver.result import Parent
from xv.urls import redact, url2pathname

if TYPE_CHECKING:  # a direct reference loads the build machinery; a plain input does not
    from xv.build.context import BuildContext
    from xv.build.direct import DirectDist


def resolve_direct(
    items: Iterable[InputRequirement],
    target: Target | None,
    ctx: BuildContext,
    out_dir: Path,
    hashes: bool = False,
) -> tuple[dict[int, Requirement], dict[str, DirectCandidate]]:
    """Requirements to use instead of the direct ones (by ``id`` of the item), and the
    direct candidates by normalised name. With ``hashes`` every archive's sha256 is known
    (a remote wheel read by range requests is downloaded for it)."""
    replaced: dict[int, Requirement] = {}
    direct: dict[str, DirectCandidate] = {}
    todo = [i for i in items if i.parsed.url is not None and _applies(i.parsed.marker, target)]
    if not todo:
        return replaced, direct
    from xv.build.direct import DirectRef

    refs = [
        DirectRef(i.parsed.url or "", i.parsed.editable, i.parsed.name, _label(i)) for i in todo
    ]
    for item, dist in zip(todo, ctx.direct.resolve_all(refs), strict=True):
        parsed = item.parsed
        assert parsed.url is not None
        shown = display_url(parsed.url, parsed.spec or parsed.text, dist, out_dir)
        previous = direct.get(dist.name)
        if previous is not None and previous.url != shown:
            raise InputError(
                f"{dist.name} is requested from two places: {previous.url} and {shown}",
                parsed.origin.file,
                parsed.origin.line,
            )
        sha = ctx.direct.archive_sha256(dist) if hashes else dist.sha256
        direct[dist.name] = DirectCandidate(
            shown, dist.version, dist.metadata, _files(dist, shown, sha), parsed.editable
        )
        extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
        marker = f" ; {parsed.marker}" if parsed.marker is not None else ""
        replaced[id(item)] = Requirement(f"{dist.name}{extras} @ {shown}{marker}")
    return replaced, direct


def _label(item: InputRequirement) -> str:
    return redact(item.parsed.spec or item.parsed.text)


def display_url(url: str, spec: str, dist: DirectDist, out_dir: Path) -> str:
    """What the lock writes for a direct reference (see the module docstring)."""
    if dist.commit is not None:
        return strip_credentials(dist.url)
    parts = urlsplit(url)
    if parts.scheme == "file" and "file:" not in spec:
        path = url2pathname(unquote(parts.path))
        given = spec.split("@", 1)[-1].split(";", 1)[0].strip()
        if os.path.isabs(os.path.expanduser(given)):
            return path  # an absolute path stays absolute, as given
        rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
        return rel if rel == "." or rel.startswith(("./", "../")) else f"./{rel}"
    return strip_credentials(url)


def _files(dist: DirectDist, shown: str, sha256: str | None) -> tuple[DistFile, ...]:
    """The archive, for ``--generate-hashes`` (trees and editables have no hash)."""
    if sha256 is None:
        return ()
    return (DistFile(dist.location.name, shown, {"sha256": sha256}),)


def _applies(marker: Marker | None, target: Target | None) -> bool:
    if marker is None or target is None:  # universal: every direct reference is read
        return True
    return marker.evaluate({**target.markers, "extra": ""})


# -- inputs that are projects to build -----------------------------------------


def project_requirements(
    sources: Sequence[str],
    extras: Sequence[str],
    all_extras: bool,
    target: Target | None,
    ctx: BuildContext,
) -> list[tuple[Requirement, Parent]]:
    """The dependencies (and requested extras) of each project input, from built metadata."""
    found: list[tuple[Requirement, Parent]] = []
    for src in sources:
        tree = Path(src) if os.path.isdir(src) else Path(src).parent
        meta = ctx.builder.tree_metadata(tree.resolve(), str(src))
        wanted: set[str] = (
            set(meta.provides_extra) if all_extras else {canonicalize_name(e) for e in extras}
        )
        unknown = wanted - {canonicalize_name(e) for e in meta.provides_extra}
        if unknown:
            raise InputError(f"requested extra not found: {', '.join(sorted(unknown))}", src)
        parent = Parent("project", f"{canonicalize_name(meta.name)} ({src})")
        for text in meta.requires_dist:
            req = Requirement(text)
            if _selected(req, wanted, target):
                req.marker = _without_extra(req, target)
                found.append((req, parent))
    return found


def _selected(req: Requirement, extras: set[str], target: Target | None) -> bool:
    if req.marker is None:
        return True
    if target is None:  # universal: the forks judge the rest of the marker
        return "extra" not in str(req.marker) or any(f'"{e}"' in str(req.marker) for e in extras)
    env: Mapping[str, str] = {**target.markers, "extra": ""}
    if req.marker.evaluate(env):
        return True
    return any(req.marker.evaluate({**target.markers, "extra": e}) for e in extras)


def _without_extra(req: Requirement, target: Target | None) -> Marker | None:
    """The marker was evaluated for the target; an ``extra`` term cannot stay in an input."""
    if req.marker is None or "extra" not in str(req.marker):
        return req.marker
    return None
