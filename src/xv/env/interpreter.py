"""Facts about a target interpreter, asked once through a subprocess and cached.

The target runs ``_probe.py`` (``python -I -c``) and prints JSON; everything else
(supported tags, the PEP 668 flag) is derived here. The raw facts are cached in
the cache's ``CacheBucket.INTERPRETER`` bucket keyed by the executable's path, resolved path,
mtime and size, so a rebuilt interpreter is asked again; a virtual environment's are kept
once per base interpreter and placed in each environment (see ``_venv_config``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from xv import digests
from xv.cache import Bucket, Cache, CacheBucket
from xv.env import _probe
from xv.errors import TargetEnvironmentError
from xv.records import record

_PROBE_SOURCE = Path(_probe.__file__).read_text(encoding="utf-8")
_PROBE_TIMEOUT = 60


@record
class Interpreter:
    """A Python interpreter and the environment it installs into."""

    executable: Path
    prefix: Path
    base_prefix: Path
    is_venv: bool
    version: tuple[int, int, int]
    implementation: str
    # sysconfig scheme paths: purelib, platlib, scripts, data, include, headers, stdlib
    paths: Mapping[str, Path] = field(hash=False)
    markers: Mapping[str, str] = field(hash=False)  # packaging.markers.default_environment()
    externally_managed: bool = False  # PEP 668 marker present (never for a venv)
    facts: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)
    fixed_tags: tuple[str, ...] | None = field(default=None, hash=False)  # instead of the facts'

    # The tags are derived on first use (packaging.tags is not imported before): a sync
    # with nothing to change never needs them.
    @functools.cached_property
    def tags(self) -> tuple[str, ...]:
        """Supported wheel tags, best first."""
        if self.fixed_tags is not None:
            return self.fixed_tags
        known = _known_tags(self.facts)
        if known is not None:
            return known
        from xv.env.tags import supported_tags

        return tuple(supported_tags(self.facts))

    @functools.cached_property
    def platforms(self) -> tuple[str, ...]:
        """Platform tags, best first."""
        from xv.env.tags import platform_tags

        return tuple(platform_tags(self.facts))

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> Interpreter:
        paths = {key: Path(value) for key, value in facts["paths"].items()}
        is_venv = bool(facts["is_venv"])
        marker_file = paths["stdlib"] / "EXTERNALLY-MANAGED"
        return cls(
            executable=Path(facts["executable"]),
            prefix=Path(facts["prefix"]),
            base_prefix=Path(facts["base_prefix"]),
            is_venv=is_venv,
            version=(int(facts["version"][0]), int(facts["version"][1]), int(facts["version"][2])),
            implementation=str(facts["implementation"]),
            paths=paths,
            markers=dict(facts["markers"]),
            externally_managed=not is_venv and marker_file.is_file(),
            facts=facts,
        )

    @property
    def python_version(self) -> str:
        """``"3.12"``."""
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def site_packages(self) -> tuple[Path, ...]:
        """purelib, then platlib when it differs."""
        purelib, platlib = self.paths["purelib"], self.paths["platlib"]
        return (purelib,) if purelib == platlib else (purelib, platlib)


def query_interpreter(
    executable: str | os.PathLike[str], cache: Cache | None = None
) -> Interpreter:
    """Ask ``executable`` about itself (from the cache when it has not changed)."""
    path = Path(os.path.abspath(executable))
    try:
        stat = path.stat()
    except OSError as exc:
        raise TargetEnvironmentError(f"No Python interpreter at {path}: {exc.strerror}") from exc
    bucket = cache.bucket(CacheBucket.INTERPRETER) if cache is not None else None
    venv = _venv_config(path)
    if venv is not None:  # any virtual environment of the same base shares one entry
        key = _venv_key(path, stat, *venv)
        facts = _placed(_cached(bucket, key), venv[0], path)
        if facts is None:
            facts = with_tags(run_probe(path))
            movable = _movable(facts, venv[0], path)
            if bucket is not None and movable is not None:
                bucket.put(key, movable)
        return Interpreter.from_facts(facts)
    key = _cache_key(path, stat)
    facts = _cached(bucket, key)
    if facts is None:
        facts = with_tags(run_probe(path))
        if bucket is not None:
            bucket.put(key, facts)
    return Interpreter.from_facts(facts)


def running_facts(cache: Cache | None = None) -> dict[str, Any]:
    """The facts of the interpreter xv runs on, from the in-process probe, with its tags.

    Cached as :func:`query_interpreter` caches a probed interpreter's (by the executable's
    path, resolved path, mtime and size), under a key of their own: these facts come from
    this process, not from a ``-I`` subprocess. The key also holds the kernel's release and
    version (the ``platform_release`` and ``platform_version`` markers) and the C library's
    version (the manylinux tags), which change under an unchanged executable. A compile on
    a warm cache then neither runs the probe (sysconfig's paths, ~7 ms) nor derives ~900
    tags with packaging.tags (~5 ms).
    """
    bucket = cache.bucket(CacheBucket.INTERPRETER) if cache is not None and cache.enabled else None
    key = None
    if bucket is not None and sys.executable:
        path = Path(os.path.abspath(sys.executable))
        try:
            system = "\0".join(os.uname()) if hasattr(os, "uname") else ""
            libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else ""
            identity = _cache_key(path, path.stat()) + f"\0{system}\0{libc}"
            key = (
                "running-" + digests.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
            )
        except (OSError, ValueError):
            key = None
    facts = _cached(bucket, key) if key is not None else None
    if facts is None or _known_tags(facts) is None:
        facts = with_tags(dict(_probe.facts()))
        if bucket is not None and key is not None:
            bucket.put(key, facts)
    return facts


# The supported tags are derived from the facts by packaging.tags (~900 of them); they are
# cached with the facts, marked with packaging's version (a newer packaging may order or
# add tags), so that a sync into another environment of the same base imports neither
# packaging.tags nor, with it, platform and subprocess (~15 ms), nor generates them again.


def with_tags(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with the interpreter's supported tags, as :attr:`Interpreter.tags` gives them."""
    import packaging

    from xv.env.tags import supported_tags

    return {**facts, "tags": {"by": packaging.__version__, "supported": supported_tags(facts)}}


def _known_tags(facts: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The tags :func:`with_tags` stored, if this packaging derived them."""
    known = facts.get("tags")
    if not isinstance(known, dict):
        return None
    import packaging

    supported = known.get("supported")
    if known.get("by") != packaging.__version__ or not isinstance(supported, (list, tuple)):
        return None
    if not all(isinstance(tag, str) for tag in supported):
        return None
    return tuple(supported)


# -- virtual environments ------------------------------------------------------
#
# A fresh virtual environment is a new interpreter path, but its facts are its base
# interpreter's but for the few paths inside the environment. They are cached once per
# base (as uv caches interpreter info) and placed in each environment: keyed by the
# base's resolved path, its size and mtime, the executable's place in the environment and
# pyvenv.cfg's settings (home, version, ...: a venv made again at the same path by another
# Python differs in all of them), and kept with every in-environment path relative to it.
# An entry is used only when placing it puts the prefix, the executable and every install
# path inside the environment: a forged entry can direct an install nowhere else.

_IN_ENV = ("prefix", "executable", "paths.purelib", "paths.platlib", "paths.scripts",
           "paths.data", "paths.headers")  # fmt: skip
_MUST_BE_IN_ENV = frozenset(_IN_ENV) - {"paths.headers"}


def _venv_config(executable: Path) -> tuple[Path, bytes] | None:
    """The environment directory and pyvenv.cfg's settings (but ``command``, which names
    the directory) when ``executable`` belongs to a virtual environment; looked for where
    Python looks: beside the executable, then one level up."""
    for folder in (executable.parent, executable.parent.parent):
        try:
            raw = (folder / "pyvenv.cfg").read_bytes()
        except OSError:
            continue
        lines = [line.strip() for line in raw.splitlines()]
        kept = sorted(line for line in lines if line and not line.startswith(b"command"))
        return folder, b"\n".join(kept)
    return None


def _venv_key(path: Path, stat: os.stat_result, folder: Path, config: bytes) -> str:
    digest = digests.sha256(b"venv\0")
    where = os.path.relpath(path, folder)
    for part in (os.path.realpath(path), str(stat.st_mtime_ns), str(stat.st_size), where):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(config + b"\0" + str(_probe.SCHEMA).encode())
    return digest.hexdigest()


def _get(facts: Mapping[str, Any], field: str) -> Any:
    head, _, tail = field.partition(".")
    return facts[head][tail] if tail else facts[head]


def _set(facts: dict[str, Any], field: str, value: Any) -> None:
    head, _, tail = field.partition(".")
    if tail:
        facts[head] = {**facts[head], tail: value}
    else:
        facts[head] = value


def _movable(facts: dict[str, Any], folder: Path, executable: Path) -> dict[str, Any] | None:
    """The facts with every path inside ``folder`` made relative to it (listed under
    ``"inside"``); None when the probe did not place the environment as expected (a
    symlinked directory, say): such an environment is asked every time."""
    root = str(folder)
    if facts.get("prefix") != root or facts.get("executable") != str(executable):
        return None
    movable: dict[str, Any] = dict(facts)
    inside = []
    for name in _IN_ENV:
        value = _get(facts, name)
        if value == root or (isinstance(value, str) and value.startswith(root + os.sep)):
            _set(movable, name, os.path.relpath(value, root))
            inside.append(name)
        elif name in _MUST_BE_IN_ENV:
            return None
    movable["inside"] = inside
    # The entry's own "executable" is the base's: ``xv cache prune`` drops it when gone.
    return {"schema": _probe.SCHEMA, "executable": os.path.realpath(executable), "venv": movable}


def _placed(entry: dict[str, Any] | None, folder: Path, executable: Path) -> dict[str, Any] | None:
    """The cached base facts placed in the environment at ``folder``, or None when the
    entry is missing or does not keep the environment's paths inside it."""
    if entry is None:
        return None
    try:
        movable = entry["venv"]
        inside = movable["inside"]
        if not set(_MUST_BE_IN_ENV) <= set(inside) or not set(inside) <= set(_IN_ENV):
            return None
        facts = {k: v for k, v in movable.items() if k != "inside"}
        root = str(folder)
        for name in inside:
            rel = _get(movable, name)
            if not isinstance(rel, str) or os.path.isabs(rel) or ".." in rel.split(os.sep):
                return None
            _set(facts, name, root if rel == "." else os.path.join(root, rel))
    except (KeyError, TypeError, AttributeError):
        return None
    if facts["executable"] != str(executable):
        return None
    return facts


def _cache_key(path: Path, stat: os.stat_result) -> str:
    identity = (
        f"{path}\0{os.path.realpath(path)}\0{stat.st_mtime_ns}\0{stat.st_size}\0{_probe.SCHEMA}"
    )
    return digests.sha256(identity.encode("utf-8")).hexdigest()


def _cached(bucket: Bucket | None, key: str) -> dict[str, Any] | None:
    if bucket is None:
        return None
    try:
        value = bucket.get(key)
    except Exception:  # a corrupt entry is a miss, never a failure
        return None
    if isinstance(value, dict) and value.get("schema") == _probe.SCHEMA:
        return value
    return None


def _old_version(executable: Path) -> str | None:
    """``"2.7"`` when ``executable`` is a Python older than the probe needs (Python 2 has
    no ``-I``), else None. Only builtins run: ``-E -S`` and ``import sys``, no site."""
    code = "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"
    import subprocess  # only when the cache does not know the interpreter

    try:
        proc = subprocess.run(
            [str(executable), "-E", "-S", "-c", code],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", proc.stdout.strip())
    if proc.returncode != 0 or match is None or (int(match[1]), int(match[2])) >= (3, 8):
        return None
    return proc.stdout.strip()


def run_probe(executable: Path) -> dict[str, Any]:
    """Run the probe script in ``executable`` and return the facts it printed."""
    import subprocess  # only when the cache does not know the interpreter

    try:
        proc = subprocess.run(
            [str(executable), "-I", "-c", _PROBE_SOURCE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetEnvironmentError(
            f"Cannot run the Python interpreter at {executable}: {exc}"
        ) from exc
    if proc.returncode != 0:
        old = _old_version(executable)
        if old is not None:
            raise TargetEnvironmentError(
                f"The interpreter at {executable} is Python {old}; Python {old} is not "
                "supported (xv supports Python 3.8 and newer)"
            )
        detail = "\n".join(f"  {line}" for line in proc.stderr.strip().splitlines() if line.strip())
        raise TargetEnvironmentError(
            f"The Python interpreter at {executable} failed to describe itself:\n"
            f"{detail or '  (no output)'}"
        )
    try:
        facts = json.loads(proc.stdout)
    except ValueError as exc:
        raise TargetEnvironmentError(
            f"The Python interpreter at {executable} printed unexpected output"
        ) from exc
    if not isinstance(facts, dict) or facts.get("schema") != _probe.SCHEMA:
        raise TargetEnvironmentError(f"Unexpected answer from the interpreter at {executable}")
    return facts
