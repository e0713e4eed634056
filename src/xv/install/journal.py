"""The sync journal: what a run is about to change, so that the next run can finish it.

Before the first change, a run writes ``<prefix>/.xv-journal`` (JSON, flushed to
disk) listing its steps in the order it will take them: each install (the
archive, every path it writes, the old version's files and metadata directories
it replaces) and each removal (the files and metadata directories it deletes).
The journal is deleted when the last step is done.

A run that finds a journal (the previous one was killed, or lost power) repairs
the environment first, under the environment lock, before it plans anything:
every step is taken again, which is safe because each is idempotent. An install
whose archive is still in the cache is finished (the files placed again and
RECORD written last); one whose archive is gone is rolled back, removing the
new files and the version it replaced, so the package is cleanly absent and the
plan installs it again. Temporary files (``*.xv-tmp``) beside every journalled
path are removed, and directories left empty are pruned. After a repair the
environment is what the interrupted run was making, and the new run's plan
starts from there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field, fields
from pathlib import Path
from typing import Any

from xv.env.interpreter import Interpreter
from xv.errors import InstallError
from xv.records import record

# The installer (place, remove, record) is imported by the functions that repair: every
# sync looks for a journal, and almost never finds one.

JOURNAL_NAME = ".xv-journal"
_VERSION = 1
Warn = Callable[[str], None]


@record
class InstallStep:
    """Install ``archive`` (over the files of an older version, if any)."""

    name: str
    archive: str
    new_meta: str  # the .dist-info directory the install creates
    targets: tuple[str, ...]  # every path it writes
    old_files: tuple[str, ...] = ()  # files of the version(s) it replaces
    old_metas: tuple[str, ...] = ()
    direct_url: dict[str, Any] | None = field(default=None, compare=False)
    link_mode: str = "hardlink"
    requested: bool = True  # writes REQUESTED, as the interrupted install would have


@record
class RemoveStep:
    """Remove a distribution: its files, then its metadata directories."""

    name: str
    files: tuple[str, ...]
    metas: tuple[str, ...]


Step = InstallStep | RemoveStep


def journal_path(interp: Interpreter) -> Path:
    return Path(interp.prefix) / JOURNAL_NAME


def write_journal(interp: Interpreter, steps: Sequence[Step]) -> None:
    """Record ``steps`` durably (temporary file, fsync, rename) before any of them runs."""
    doc = {
        "version": _VERSION,
        "steps": [{"kind": type(s).__name__, **_fields_of(s)} for s in steps],
    }
    target = journal_path(interp)
    temp = target.with_name(f"{JOURNAL_NAME}.{os.urandom(6).hex()}.xv-tmp")
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            json.dump(doc, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _fields_of(step: Step) -> dict[str, Any]:
    """A step's fields by name: what ``dataclasses.asdict`` gives, without its deep copy of
    every path (1,400 for 27 packages; the JSON is the same)."""
    return {f.name: getattr(step, f.name) for f in fields(step)}


def clear_journal(interp: Interpreter) -> None:
    journal_path(interp).unlink(missing_ok=True)


def read_journal(interp: Interpreter) -> list[Step] | None:
    """The journalled steps; None without a journal, [] for one that does not parse."""
    try:
        doc = json.loads(journal_path(interp).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        return []
    steps: list[Step] = []
    for raw in doc.get("steps", []):
        kind = raw.pop("kind", None)
        try:
            if kind == "InstallStep":
                for key in ("targets", "old_files", "old_metas"):
                    raw[key] = tuple(raw.get(key, ()))
                steps.append(InstallStep(**raw))
            elif kind == "RemoveStep":
                steps.append(RemoveStep(raw["name"], tuple(raw["files"]), tuple(raw["metas"])))
        except (TypeError, KeyError):
            continue
    return steps


def repair(interp: Interpreter, warn: Warn | None = None) -> list[str]:
    """Finish (or roll back) what an interrupted run journalled; the names it touched."""
    steps = read_journal(interp)
    if steps is None:  # a run killed while writing the journal leaves only its temporary
        _discard_journal_temporaries(interp)
        return []
    from xv.install.remove import remove_files

    for step in steps:
        remove_temporaries(_paths_of(step))
        if isinstance(step, InstallStep):
            _repair_install(step, interp, warn)
        else:
            remove_files(map(Path, step.files), map(Path, step.metas), interp, warn=warn)
    _discard_journal_temporaries(interp)
    clear_journal(interp)
    return [step.name for step in steps]


def _repair_install(step: InstallStep, interp: Interpreter, warn: Warn | None) -> None:
    from xv.install.place import install_from_archive
    from xv.install.remove import remove_files

    new_meta = Path(step.new_meta)
    try:
        new = install_from_archive(
            step.archive,
            interp,
            direct_url=step.direct_url,
            link_mode=step.link_mode,
            requested=step.requested,
        )
    except (InstallError, OSError):
        # The archive is gone or damaged: roll back to a cleanly absent package.
        files = [*map(Path, step.targets), *map(Path, step.old_files)]
        remove_files(files, [new_meta, *map(Path, step.old_metas)], interp, warn=warn)
        return
    stale = [Path(m) for m in step.old_metas if Path(m) != new.dist_info]
    remove_files(map(Path, step.old_files), stale, interp, keep=new.paths, warn=warn)


def record_paths(meta: Path) -> list[Path]:
    """The paths a RECORD lists (absolute, normalised); [] when it is missing."""
    try:
        text = (meta / "RECORD").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    from xv.install.record import parse_record

    return [Path(os.path.normpath(meta.parent / entry.path)) for entry in parse_record(text)]


def _paths_of(step: Step) -> list[Path]:
    if isinstance(step, InstallStep):
        return [Path(p) for p in (*step.targets, *step.old_files, step.new_meta + "/RECORD")]
    return [Path(p) for p in (*step.files, *(m + "/RECORD" for m in step.metas))]


def remove_temporaries(paths: Iterable[Path]) -> None:
    """Remove the ``.<name>.<id>.xv-tmp`` files an interrupted write left beside ``paths``."""
    for directory in {path.parent for path in paths}:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(".xv-tmp"):
                Path(entry.path).unlink(missing_ok=True)


def _discard_journal_temporaries(interp: Interpreter) -> None:
    for stale in Path(interp.prefix).glob(f"{JOURNAL_NAME}.*.xv-tmp"):
        stale.unlink(missing_ok=True)
