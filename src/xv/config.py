"""Settings from config files and ``XV_*`` environment variables.

Precedence, highest first: the command line, the environment, then one config file found in
the current directory: ``xv.toml`` if it exists (its keys at top level), else the ``[tool.xv]``
table of ``pyproject.toml``. As with uv's ``uv.toml``, an ``xv.toml`` makes xv ignore
``[tool.xv]`` entirely rather than merging the two. ``--no-config`` or ``XV_NO_CONFIG=1`` skips
the files (not the environment).

Keys are uv's spellings (``index-url``, ``extra-index-url``, ``annotation-style`` ...); an
unknown key or a value of the wrong type is an error naming the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xv.errors import InputError, PyprojectError, UsageError


@dataclass(frozen=True)
class Key:
    """A setting: its type, the values it may take, and its environment variable."""

    kind: str  # "str" | "bool" | "list" | "choice"
    choices: tuple[str, ...] = ()
    env: str | None = None
    env_separator: str | None = None  # for lists: None splits on whitespace


_PRERELEASE = ("disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit")

KEYS: dict[str, Key] = {
    "index-url": Key("str", env="XV_INDEX_URL"),
    "extra-index-url": Key("list", env="XV_EXTRA_INDEX_URL"),
    "find-links": Key("list", env="XV_FIND_LINKS", env_separator=","),
    "no-index": Key("bool", env="XV_NO_INDEX"),
    "index-strategy": Key(
        "choice", ("first-index", "unsafe-first-match", "unsafe-best-match"), "XV_INDEX_STRATEGY"
    ),
    "allow-insecure-host": Key("list", env="XV_INSECURE_HOST"),
    "keyring-provider": Key("choice", ("disabled", "subprocess"), "XV_KEYRING_PROVIDER"),
    "cache-dir": Key("str", env="XV_CACHE_DIR"),
    "no-cache": Key("bool", env="XV_NO_CACHE"),
    "offline": Key("bool", env="XV_OFFLINE"),
    "python": Key("str", env="XV_PYTHON"),
    "python-version": Key("str", env="XV_PYTHON_VERSION"),
    "python-platform": Key("str", env="XV_PYTHON_PLATFORM"),
    "universal": Key("bool", env="XV_UNIVERSAL"),
    "prerelease": Key("choice", _PRERELEASE, "XV_PRERELEASE"),
    "resolution": Key("choice", ("highest", "lowest", "lowest-direct"), "XV_RESOLUTION"),
    "exclude-newer": Key("str", env="XV_EXCLUDE_NEWER"),
    "no-deps": Key("bool"),
    "no-build": Key("bool"),
    "only-binary": Key("list"),
    "no-binary": Key("list"),
    "generate-hashes": Key("bool"),
    "no-strip-extras": Key("bool"),
    "no-annotate": Key("bool"),
    "no-header": Key("bool"),
    "annotation-style": Key("choice", ("split", "line"), "XV_ANNOTATION_STYLE"),
    "custom-compile-command": Key("str", env="XV_CUSTOM_COMPILE_COMMAND"),
    "emit-index-url": Key("bool"),
    "emit-find-links": Key("bool"),
    "no-emit-package": Key("list"),
}

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f", "")


def attr(key: str) -> str:
    """The Python spelling of a key: ``index-url`` -> ``index_url``."""
    return key.replace("-", "_")


@dataclass(frozen=True)
class Loaded:
    """Settings by Python spelling (``index_url``), and where each one came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]  # "env:XV_INDEX_URL", "xv.toml", "pyproject.toml"

    def merged_under(self, cli: Mapping[str, Any]) -> dict[str, Any]:
        """``cli`` values where given (not ``None``, not an empty tuple), else these."""
        merged = dict(self.values)
        for name, value in cli.items():
            if value is not None and value != ():
                merged[name] = value
        return merged


def load(
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    no_config: bool = False,
) -> Loaded:
    """Settings from the environment over the config file in ``cwd`` (default: the current
    directory, named relatively in messages)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if not (no_config or _bool(env.get("XV_NO_CONFIG", ""), "XV_NO_CONFIG")):
        found = find_file(Path(".") if cwd is None else Path(cwd))
        if found is not None:
            path, table = found
            for key, value in table.items():
                values[attr(key)] = value
                sources[attr(key)] = path.name
    for key, value in from_env(env).items():
        values[key] = value
        sources[key] = f"env:{KEYS[key.replace('_', '-')].env}"
    return Loaded(values, sources)


def find_file(cwd: Path) -> tuple[Path, dict[str, Any]] | None:
    """The config file that applies in ``cwd`` and its validated settings, if any."""
    xv_toml = cwd / "xv.toml"
    if xv_toml.is_file():
        return xv_toml, validate(_read_toml(xv_toml, InputError), str(xv_toml), InputError)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject, PyprojectError).get("tool", {})
        table = tool.get("xv") if isinstance(tool, dict) else None
        if table is not None:
            if not isinstance(table, dict):
                raise PyprojectError("[tool.xv] must be a table", file=str(pyproject))
            return pyproject, validate(table, str(pyproject), PyprojectError, "[tool.xv] ")
    return None


def validate(
    table: Mapping[str, Any],
    file: str,
    error: type[InputError] = InputError,
    prefix: str = "",
) -> dict[str, Any]:
    """Check every key and value of a config table; keys stay in their TOML spelling."""
    checked: dict[str, Any] = {}
    for name, value in table.items():
        key = KEYS.get(name)
        if key is None:
            known = ", ".join(sorted(KEYS))
            raise error(f"unknown key {prefix}{name!r} (known keys: {known})", file=file)
        checked[name] = _check(name, key, value, file, error, prefix)
    return checked


def _check(name: str, key: Key, value: Any, file: str, error: type[InputError], prefix: str) -> Any:
    if key.kind == "bool" and isinstance(value, bool):
        return value
    if key.kind == "str" and isinstance(value, str):
        return value
    if key.kind == "list":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(v, str) for v in items):
            return tuple(items)
    if key.kind == "choice" and value in key.choices:
        return value
    raise error(f"{prefix}{name!r} must be {_expected(key)}, not {value!r}", file=file)


def _expected(key: Key) -> str:
    if key.kind == "choice":
        return "one of " + ", ".join(key.choices)
    return {"bool": "true or false", "str": "a string", "list": "a list of strings"}[key.kind]


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings given as ``XV_*`` variables (empty variables count as unset, except booleans)."""
    found: dict[str, Any] = {}
    for name, key in KEYS.items():
        if key.env is None or key.env not in environ:
            continue
        raw = environ[key.env]
        if key.kind == "bool":
            found[attr(name)] = _bool(raw, key.env)
        elif not raw.strip():
            continue
        elif key.kind == "list":
            parts = raw.split(key.env_separator) if key.env_separator else raw.split()
            found[attr(name)] = tuple(p.strip() for p in parts if p.strip())
        elif key.kind == "choice" and raw not in key.choices:
            raise UsageError(f"{key.env}={raw!r} is not valid; expected {_expected(key)}")
        else:
            found[attr(name)] = raw
    return found


def _bool(raw: str, variable: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"{variable}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def _read_toml(path: Path, error: type[InputError]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        raise error(f"cannot read the file: {reason}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"invalid TOML: {exc}", file=str(path)) from exc
