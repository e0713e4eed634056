"""The environment a command resolves or installs for: marker values and wheel tags.

This is the one place that turns an interpreter, or ``--python-version`` /
``--python-platform``, into a :class:`Target`. Every tag list comes from
:func:`xv.env.tags.interpreter_tags`, so the running interpreter, another one (``-p``)
and a named platform are judged by the same generator. A command builds its target once
(:func:`build_target`) and passes it down.

As with uv: ``-p/--python`` names the interpreter whose markers and tags are used (else
the running one); ``--python-version`` and ``--python-platform`` then override the
version and the platform, with uv's platform names and marker values.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from xv.cache import Cache
from xv.env import _probe
from xv.env.interpreter import Interpreter
from xv.env.tagtext import expand, is_plain
from xv.records import record

__all__ = [
    "Target",
    "build_target",
    "current_target",
    "interpreter_target",
    "make_target",
    "running_interpreter",
    "target_for",
]


@record
class Target:
    """Marker values and the ordered wheel tags a resolution must satisfy."""

    markers: dict[str, str]
    tag_priority: dict[str, int] = field(repr=False)  # str(Tag): see xv.env.tagtext
    # Answers by spelling; filled lazily (a frozen dataclass may still fill a dict).
    _tag_memo: dict[str, int | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _python_memo: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def python_version(self) -> Version:
        return Version(self.markers["python_full_version"])

    def wheel_priority(self, filename: str) -> int | None:
        """Lower is better; None when the wheel cannot be installed on the target."""
        # The compressed tag set ("py3-none-any") repeats across a project's
        # files and versions: judge each spelling once.
        parts = filename[:-4].split("-") if filename.endswith(".whl") else []
        if len(parts) not in (5, 6):
            return None
        key = "-".join(parts[-3:])
        try:
            return self._tag_memo[key]
        except KeyError:
            pass
        try:
            wheel_tags = expand(key)
        except ValueError:
            wheel_tags = frozenset()
        best = [self.tag_priority[t] for t in wheel_tags if t in self.tag_priority]
        result = min(best) if best else None
        self._tag_memo[key] = result
        return result

    def allows_requires_python(self, requires_python: str | None) -> bool:
        """uv's rule: only the lower bounds of Requires-Python exclude a version."""
        if not requires_python:
            return True
        try:
            return self._python_memo[requires_python]
        except KeyError:
            pass
        plain = plain_lower_bounds(requires_python, self.markers["python_full_version"])
        if plain is not None:
            self._python_memo[requires_python] = plain
            return plain
        # Loaded here: a sync whose files declare no Requires-Python never needs it (~7 ms).
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier:
            result = True
        else:
            lower = SpecifierSet(",".join(str(s) for s in spec if s.operator not in ("<", "<=")))
            result = lower.contains(self.python_version, prereleases=True)
        self._python_memo[requires_python] = result
        return result


_RELEASE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_CLAUSE = re.compile(r"\s*(>=|<=|<|!=)\s*((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*)(\.\*)?\s*")


def plain_lower_bounds(requires_python: str, python: str) -> bool | None:
    """:meth:`Target.allows_requires_python` for the common spellings, without
    packaging.specifiers (~7 ms of a warm sync's start): every clause ``>=``, ``<``,
    ``<=`` or ``!=`` a plain release, ``!=`` also with ``.*`` (``>=3.8``, ``>=3.9, <4``,
    ``>=2.7, !=3.0.*, !=3.1.*``), and ``python`` a plain release. Upper bounds do not
    count (uv's rule). Releases compare as PEP 440 orders final releases: padded with
    zeros; ``!=V.*`` excludes the releases that start with ``V``. None for anything else
    (the caller asks packaging). Hand-written for speed only: tests/unit/test_env_target.py
    checks it against packaging's answer.

    >>> plain_lower_bounds(">=3.8, <4", "3.11.7"), plain_lower_bounds(">=3.12", "3.11.7")
    (True, False)
    >>> plain_lower_bounds(">=2.7, !=3.0.*, !=3.11.*", "3.11.7")
    False
    >>> plain_lower_bounds(">=3.8,~=3.9", "3.11.7") is None
    True
    """
    if not _RELEASE.fullmatch(python):
        return None
    found = [_CLAUSE.fullmatch(clause) for clause in requires_python.split(",")]
    if not all(m is not None and (m[3] is None or m[1] == "!=") for m in found):
        return None
    have = [int(part) for part in python.split(".")]
    for clause in found:
        if clause is None or clause[1] in ("<", "<="):
            continue
        bound = [int(part) for part in clause[2].split(".")]
        if clause[3] is not None:  # != V.*: python's release padded to V's length
            if (have + [0] * len(bound))[: len(bound)] == bound:
                return False
            continue
        width = max(len(bound), len(have))
        mine, theirs = have + [0] * (width - len(have)), bound + [0] * (width - len(bound))
        if mine < theirs if clause[1] == ">=" else mine == theirs:
            return False
    return True


def target_for(markers: Mapping[str, object], tag_texts: Iterable[str]) -> Target:
    """A target from marker values and wheel tags, best first (each as ``packaging.tags``
    writes it; compressed sets such as ``py2.py3-none-any`` count as one place)."""
    priority: dict[str, int] = {}
    for text in tag_texts:
        for tag in (text,) if is_plain(text) else expand(text):
            priority.setdefault(tag, len(priority))
    return Target({key: str(value) for key, value in markers.items()}, priority)


def interpreter_target(interp: Interpreter) -> Target:
    """What ``interp`` itself accepts: its markers and its wheel tags."""
    return target_for(interp.markers, interp.tags)


@functools.cache
def running_interpreter(cache: Cache | None = None) -> Interpreter:
    """The interpreter xv runs on, described by the same probe as any other (run here,
    in-process, rather than in a subprocess); its facts cached in ``cache``, when given
    (:func:`xv.env.interpreter.running_facts`)."""
    if cache is None:
        return Interpreter.from_facts(_probe.facts())
    from xv.env.interpreter import running_facts

    return Interpreter.from_facts(running_facts(cache))


def current_target() -> Target:
    """The running interpreter."""
    return interpreter_target(running_interpreter())


def make_target(
    python_version: str | None = None,
    python_platform: str | None = None,
    base: Interpreter | None = None,
) -> Target:
    """``base`` (default: the running interpreter) with ``--python-version`` and
    ``--python-platform`` applied (either may be None)."""
    interp = base if base is not None else running_interpreter()
    if python_version is None and python_platform is None:
        return interpreter_target(interp)
    markers = dict(interp.markers)
    version = (interp.version[0], interp.version[1])
    if python_version is not None:
        version = _apply_python_version(markers, python_version)
    platforms: tuple[str, ...] = interp.platforms
    if python_platform is not None:
        from xv.env.platforms import platform_named

        platform = platform_named(python_platform, os.environ)
        markers.update(platform.markers)
        platforms = platform.platforms
    # A version or platform of our choosing is a plain CPython of that version (uv's
    # assumption too): its ABI is cpXY, whatever the base's build flags are.
    from xv.env.tags import interpreter_tags

    return target_for(markers, interpreter_tags(version, "cpython", {}, platforms))


def _apply_python_version(markers: dict[str, str], text: str) -> tuple[int, int]:
    from xv.errors import UsageError

    try:
        full = Version(text)
    except InvalidVersion:
        raise UsageError(f"invalid --python-version {text!r}") from None
    release = (*full.release, 0, 0)[:3]
    markers["python_version"] = f"{release[0]}.{release[1]}"
    markers["python_full_version"] = ".".join(map(str, release))
    markers["implementation_version"] = markers["python_full_version"]
    return release[0], release[1]


FindInterpreter = Callable[[str, Cache | None], Interpreter]


def build_target(
    python: str | None = None,
    python_version: str | None = None,
    python_platform: str | None = None,
    cache: Cache | None = None,
    find: FindInterpreter | None = None,
) -> Target:
    """The target of a command: ``-p`` (found with ``find``, by default the usual
    discovery) or the running interpreter, then the overrides."""
    if python is None:
        return make_target(python_version, python_platform, running_interpreter(cache))
    interp = (find or _find_for_compile)(python, cache)
    return make_target(python_version, python_platform, interp)


def _find_for_compile(python: str, cache: Cache | None) -> Interpreter:
    from xv.env.discover import find_target

    # break_system_packages=True: compiling installs nothing, PEP 668 does not apply.
    return find_target(python, False, True, Path.cwd(), os.environ, cache=cache)
