"""Remove an installed distribution by its RECORD, and upgrade one in a safe order.

Upgrade order (:func:`upgrade`): read the old distribution's file list, install
the new version over it (every file replaced atomically, see ``place``), then
remove only the old files the new version did not write. At every moment each
module file is either the old or the new version and the package imports; an
interruption leaves at worst stale extra files and two metadata directories,
which ``installed_distributions`` reports as duplicates for the next sync to
clean up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from xv.env.installed import InstalledDist
from xv.env.interpreter import Interpreter
from xv.errors import InstallError
from xv.install.killpoint import tick
from xv.install.place import InstalledRecord, install_from_archive
from xv.install.record import parse_record

Warn = Callable[[str], None]


def owned_files(dist: InstalledDist, *, missing_ok: bool = False) -> list[Path]:
    """The absolute, normalised paths a distribution's metadata says it installed.

    A ``.dist-info`` without RECORD (an interrupted install) is an InstallError, or owns
    nothing with ``missing_ok`` (an upgrade, whose new RECORD lists what it placed).
    """
    meta = dist.dist_info_path
    if dist.is_egg_info:
        listing = meta / "installed-files.txt"
        if not listing.is_file():
            return []
        lines = listing.read_text(encoding="utf-8", errors="replace").splitlines()
        return [_normal(meta / line.strip()) for line in lines if line.strip()]
    try:
        text = (meta / "RECORD").read_text(encoding="utf-8")
    except OSError as exc:
        if missing_ok:
            return []
        raise InstallError(
            f"Cannot uninstall {dist.name} {dist.version}: {meta / 'RECORD'} is missing",
            dist.name,
        ) from exc
    return [_normal(meta.parent / entry.path) for entry in parse_record(text)]


def uninstall(
    dist: InstalledDist,
    interp: Interpreter,
    *,
    keep: Iterable[Path] = (),
    warn: Warn | None = None,
) -> list[Path]:
    """Remove ``dist`` (and its duplicates) except the files in ``keep``; return what went.

    Paths its RECORD lists outside the environment, or that belong to the environment
    itself (the interpreter, ``pyvenv.cfg``), are left alone and reported once to ``warn``.
    """
    dists = [dist, *dist.duplicates]
    files = [path for d in dists for path in owned_files(d)]
    label = f"{dist.name} {dist.version}"
    return remove_files(
        files, [d.dist_info_path for d in dists], interp, keep=keep, warn=warn, label=label
    )


def upgrade(
    old: InstalledDist,
    archive_dir: str | os.PathLike[str],
    interp: Interpreter,
    warn: Warn | None = None,
    **install_options: Any,
) -> tuple[InstalledRecord, list[Path]]:
    """Install the archive over ``old``, then remove the files only ``old`` had."""
    dists = [old, *old.duplicates]
    # Read before RECORD is replaced; an interrupted install left no RECORD to read.
    old_files = [path for d in dists for path in owned_files(d, missing_ok=True)]
    new = install_from_archive(archive_dir, interp, **install_options)
    meta_dirs = [d.dist_info_path for d in dists if _normal(d.dist_info_path) != new.dist_info]
    label = f"{old.name} {old.version}"
    removed = remove_files(old_files, meta_dirs, interp, keep=new.paths, warn=warn, label=label)
    return new, removed


def remove_files(
    files: Iterable[Path],
    meta_dirs: Iterable[Path],
    interp: Interpreter,
    *,
    keep: Iterable[Path] = (),
    warn: Warn | None = None,
    label: str = "a distribution",
) -> list[Path]:
    """Remove ``files`` not in ``keep``, their bytecode, ``meta_dirs``, then empty parents.

    A path that is not the environment's to lose (outside it, or the interpreter,
    ``pyvenv.cfg`` and the like) is skipped; ``warn`` hears of it once per call.
    """
    kept = {_normal(path) for path in keep}
    guard = _Guard(interp)
    candidates = sorted({_normal(path) for path in files} - kept)
    targets = [path for path in candidates if guard.removable(path)]
    metas = [_normal(path) for path in meta_dirs]
    metas = [path for path in metas if guard.removable(path)]
    refused = [path for path in candidates if path not in set(targets)]
    if refused and warn is not None:
        shown = ", ".join(str(p) for p in refused[:3]) + (", ..." if len(refused) > 3 else "")
        warn(
            f"{label}: its RECORD lists {len(refused)} path(s) outside the environment or "
            f"belonging to it, left in place: {shown}"
        )
    removed: list[Path] = []
    for path in targets:
        if _unlink(path):
            removed.append(path)
        if path.suffix == ".py":
            removed += [p for p in _bytecode_of(path) if _unlink(p)]
    for meta in metas:
        if meta.is_dir() and not meta.is_symlink():
            _remove_meta_dir(meta)
            removed.append(meta)
        elif _unlink(meta):
            removed.append(meta)
    # Every path, not only those removed now: a repair run finds files already gone
    # but their directories still there.
    _prune_empty_dirs([*targets, *removed, *metas], interp)
    return removed


def _remove_meta_dir(meta: Path) -> None:
    """Remove a metadata directory, METADATA first: from then on it names no distribution,
    so an interruption never leaves a half-removed one that looks installed."""
    import shutil  # here: a sync that removes nothing never needs it (~5 ms with bz2, lzma)

    _unlink(meta / "METADATA")
    for child in sorted(meta.iterdir()) if meta.is_dir() else []:
        if child.is_dir() and not child.is_symlink():
            tick()
            shutil.rmtree(child, ignore_errors=True)
        else:
            _unlink(child)
    tick()
    try:
        meta.rmdir()
    except OSError:
        shutil.rmtree(meta, ignore_errors=True)


def _bytecode_of(source: Path) -> list[Path]:
    cache = source.parent / "__pycache__"
    found = list(cache.glob(f"{source.stem}.*.pyc")) if cache.is_dir() else []
    return found


def _unlink(path: Path) -> bool:
    tick()
    try:
        path.unlink()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
    return True


def _normal(path: Path) -> Path:
    return Path(os.path.normpath(os.path.abspath(path)))


_ENV_SCHEMES = ("purelib", "platlib", "scripts", "data", "headers")


def _roots(interp: Interpreter) -> list[Path]:
    """The directories that belong to the environment (not the base stdlib or include)."""
    paths = [interp.paths[key] for key in _ENV_SCHEMES if key in interp.paths]
    return [_normal(interp.prefix), *(_normal(p) for p in paths)]


#: Files of the environment itself, never removed whatever a RECORD says: the
#: interpreter and its links, the activation scripts, the venv's configuration,
#: and xv's own lock and journal.
_PROTECTED_SCRIPTS = ("python", "activate")
_PROTECTED_AT_PREFIX = ("pyvenv.cfg", ".lock", ".xv-journal")


class _Guard:
    """Decides which paths a RECORD may remove: inside the environment's schemes (lexically
    and through symlinked parents), and not the environment's own files."""

    def __init__(self, interp: Interpreter) -> None:
        self.roots = _roots(interp)
        self.real_roots = [Path(os.path.realpath(root)) for root in self.roots]
        self.scripts = _normal(interp.paths["scripts"]) if "scripts" in interp.paths else None
        prefix = _normal(interp.prefix)
        self.protected = {prefix / name for name in _PROTECTED_AT_PREFIX}
        self.protected.add(Path(os.path.realpath(interp.executable)))
        self.protected.add(_normal(interp.executable))
        self.fenced = [  # the interpreter's own library and headers, outside site-packages
            _normal(interp.paths[key]) for key in ("stdlib", "include") if key in interp.paths
        ]
        # ... where site-packages and the headers directory may nevertheless sit.
        self.sites = [_normal(p) for p in interp.site_packages]
        if "headers" in interp.paths:
            self.sites.append(_normal(interp.paths["headers"]))
        self._real: dict[Path, Path] = {}

    def removable(self, path: Path) -> bool:
        if path in self.protected or not any(
            path != root and path.is_relative_to(root) for root in self.roots
        ):
            return False
        if path.parent == self.scripts and path.name.startswith(_PROTECTED_SCRIPTS):
            return False
        if any(path.is_relative_to(f) for f in self.fenced) and not any(
            path.is_relative_to(s) for s in self.sites
        ):
            return False
        real_parent = self._real.get(path.parent)
        if real_parent is None:
            real_parent = self._real[path.parent] = Path(os.path.realpath(path.parent))
        return any(real_parent.is_relative_to(root) for root in self.real_roots)


def _prune_empty_dirs(removed: list[Path], interp: Interpreter) -> None:
    """Remove directories left empty, deepest first, never a scheme directory itself."""
    roots = set(_roots(interp))
    candidates: set[Path] = set()
    for path in removed:
        parent = path.parent
        while parent not in roots and any(parent.is_relative_to(r) for r in roots):
            candidates.add(parent)
            parent = parent.parent
    for directory in sorted(candidates, key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:
            pass
