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
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from xv import settings
from xv.errors import InputError, PyprojectError, UsageError
from xv.records import record
from xv.settings import Entry, Value


def _keys() -> dict[str, Entry]:
    """The registry's layered settings by config key (``index-url``)."""
    return {e.config_key: e for e in settings.layered() if e.config_key is not None}


ENV_SOURCE = "env:"  # how Loaded.sources names a setting from an XV_* variable

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f", "")


def attr(key: str) -> str:
    """The Python spelling of a key: ``index-url`` -> ``index_url``."""
    return key.replace("-", "_")


@record
class Loaded:
    """Settings by Python spelling (``index_url``), and where each one came from."""

    values: Mapping[str, Value]
    sources: Mapping[str, str]  # "env:XV_INDEX_URL", "xv.toml", "pyproject.toml"

    def under(
        self, cli: settings.Settings, only: Collection[str] | None = None
    ) -> settings.Settings:
        """The typed settings: ``cli`` where given, else these (those named ``only``)."""
        values = self.values
        if only is not None:
            values = {name: value for name, value in values.items() if name in only}
        return settings.layer(cli, values)


def load(
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    no_config: bool = False,
) -> Loaded:
    """Settings from the environment over the config file in ``cwd`` (default: the current
    directory, named relatively in messages)."""
    env = os.environ if environ is None else environ
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    no_config_env = settings.entry("no_config").spec.env or "XV_NO_CONFIG"
    if not (no_config or _bool(env.get(no_config_env, ""), no_config_env)):
        found = find_file(Path(".") if cwd is None else Path(cwd))
        if found is not None:
            path, table = found
            for key, value in table.items():
                values[attr(key)] = value
                sources[attr(key)] = path.name
    for key, value in from_env(env).items():
        values[key] = value
        sources[key] = f"{ENV_SOURCE}{settings.entry(key).spec.env}"
    return Loaded(values, sources)


def find_file(cwd: Path) -> tuple[Path, dict[str, Value]] | None:
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
    table: Mapping[str, object],
    file: str,
    error: type[InputError] = InputError,
    prefix: str = "",
) -> dict[str, Value]:
    """Check every key and value of a config table; keys stay in their TOML spelling."""
    keys = _keys()
    checked: dict[str, Value] = {}
    for name, value in table.items():
        key = keys.get(name)
        if key is None:
            known = ", ".join(sorted(keys))
            raise error(f"unknown key {prefix}{name!r} (known keys: {known})", file=file)
        checked[name] = _check(name, key, value, file, error, prefix)
    return checked


def _check(
    name: str, key: Entry, value: object, file: str, error: type[InputError], prefix: str
) -> Value:
    if key.kind == "bool" and isinstance(value, bool):
        return value
    if key.kind == "str" and isinstance(value, str):
        return value
    if key.kind == "list":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(v, str) for v in items):
            return tuple(str(v) for v in items)
    if key.kind == "choice" and isinstance(value, str) and value in key.choices:
        return value
    raise error(f"{prefix}{name!r} must be {_expected(key)}, not {value!r}", file=file)


def _expected(key: Entry) -> str:
    if key.kind == "choice":
        return "one of " + ", ".join(key.choices)
    return {"bool": "true or false", "str": "a string", "list": "a list of strings"}[key.kind]


def from_env(environ: Mapping[str, str]) -> dict[str, Value]:
    """Settings given as ``XV_*`` variables (empty variables count as unset, except booleans)."""
    found: dict[str, Value] = {}
    for key in settings.layered():
        variable = key.spec.env
        if variable is None or variable not in environ:
            continue
        raw = environ[variable]
        if key.kind == "bool":
            found[key.name] = _bool(raw, variable)
        elif not raw.strip():
            continue
        elif key.kind == "list":
            separator = key.spec.env_separator
            parts = raw.split(separator) if separator else raw.split()
            found[key.name] = tuple(p.strip() for p in parts if p.strip())
        elif key.kind == "choice" and raw not in key.choices:
            raise UsageError(f"{variable}={raw!r} is not valid; expected {_expected(key)}")
        else:
            found[key.name] = raw
    return found


def _bool(raw: str, variable: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"{variable}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def _read_toml(path: Path, error: type[InputError]) -> dict[str, Any]:
    import tomllib  # only when there is a file to read

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        raise error(f"cannot read the file: {reason}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"invalid TOML: {exc}", file=str(path)) from exc
