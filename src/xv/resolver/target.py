"""The environment a resolution is for: marker values and supported wheel tags.

By default that is the interpreter xv runs on. ``--python-version`` changes the
Python version (markers and tags) and ``--python-platform`` the platform, with
uv's platform names, so a lock can be made for another machine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging import tags
from packaging.markers import default_environment
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from xv.errors import UsageError


@dataclass(frozen=True)
class _Platform:
    markers: dict[str, str]
    platform_tags: tuple[str, ...]


def _manylinux(arch: str, glibc_minor: int) -> tuple[str, ...]:
    names: list[str] = []
    for minor in range(glibc_minor, 16, -1):
        names.append(f"manylinux_2_{minor}_{arch}")
        if minor == 17:
            names.append(f"manylinux2014_{arch}")
        if minor == 12:
            names.append(f"manylinux2010_{arch}")
        if minor == 5:
            names.append(f"manylinux1_{arch}")
    return (*names, f"linux_{arch}")


def _linux(arch: str, glibc_minor: int = 17) -> _Platform:
    return _Platform(
        {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
            "platform_machine": arch,
        },
        _manylinux(arch, glibc_minor),
    )


def _macos(arch: str, major: int) -> _Platform:
    archs = (arch, "universal2") if arch == "arm64" else (arch, "intel", "universal2")
    plats = [f"macosx_{m}_0_{a}" for m in range(major, 10, -1) for a in archs]
    if arch == "x86_64":
        plats += [f"macosx_10_{m}_{a}" for m in range(16, 8, -1) for a in archs]
    return _Platform(
        {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "os_name": "posix",
            "platform_machine": arch,
        },
        tuple(plats),
    )


def _windows(arch: str) -> _Platform:
    tag = {"AMD64": "win_amd64", "ARM64": "win_arm64", "x86": "win32"}[arch]
    return _Platform(
        {
            "sys_platform": "win32",
            "platform_system": "Windows",
            "os_name": "nt",
            "platform_machine": arch,
        },
        (tag,),
    )


def _platform(name: str) -> _Platform:
    """Map uv's ``--python-platform`` names onto marker values and platform tags."""
    aliases = {
        "linux": "x86_64-unknown-linux-gnu",
        "macos": "aarch64-apple-darwin",
        "windows": "x86_64-pc-windows-msvc",
    }
    name = aliases.get(name, name)
    fixed = {
        "x86_64-unknown-linux-gnu": lambda: _linux("x86_64"),
        "aarch64-unknown-linux-gnu": lambda: _linux("aarch64"),
        "x86_64-apple-darwin": lambda: _macos("x86_64", 13),
        "aarch64-apple-darwin": lambda: _macos("arm64", 14),
        "x86_64-pc-windows-msvc": lambda: _windows("AMD64"),
        "aarch64-pc-windows-msvc": lambda: _windows("ARM64"),
        "i686-pc-windows-msvc": lambda: _windows("x86"),
    }
    if name in fixed:
        return fixed[name]()
    for arch in ("x86_64", "aarch64"):
        prefix = f"{arch}-manylinux_2_"
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return _linux(arch, int(name[len(prefix) :]))
    choices = ", ".join(sorted([*aliases, *fixed]))
    raise UsageError(
        f"unknown --python-platform {name!r}; expected one of {choices}, or x86_64-manylinux_2_NN"
    )


@dataclass(frozen=True)
class Target:
    """Marker values and the ordered wheel tags a resolution must satisfy."""

    markers: dict[str, str]
    tag_priority: dict[tags.Tag, int] = field(repr=False)
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
            wheel_tags = tags.parse_tag(key)
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
        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier:
            result = True
        else:
            lower = SpecifierSet(",".join(str(s) for s in spec if s.operator not in ("<", "<=")))
            result = lower.contains(self.python_version, prereleases=True)
        self._python_memo[requires_python] = result
        return result


def current_target() -> Target:
    """The running interpreter."""
    ordered = list(tags.sys_tags())
    return Target(_markers(), {t: i for i, t in enumerate(ordered)})


def target_for(markers: Mapping[str, object], tag_texts: Iterable[str]) -> Target:
    """Another interpreter's target: its marker values and its wheel tags, best first
    (each as ``packaging.tags`` writes it; compressed sets such as ``py2.py3-none-any``
    count as one place in the order)."""
    priority: dict[tags.Tag, int] = {}
    for text in tag_texts:
        for tag in tags.parse_tag(text):
            priority.setdefault(tag, len(priority))
    return Target({key: str(value) for key, value in markers.items()}, priority)


def _markers() -> dict[str, str]:
    return {k: str(v) for k, v in default_environment().items()}


def make_target(python_version: str | None = None, python_platform: str | None = None) -> Target:
    """A target for ``--python-version`` / ``--python-platform`` (either may be None)."""
    if python_version is None and python_platform is None:
        return current_target()
    markers = _markers()
    if python_version is not None:
        try:
            full = Version(python_version)
        except InvalidVersion:
            raise UsageError(f"invalid --python-version {python_version!r}") from None
        release = (*full.release, 0, 0)[:3]
        markers["python_version"] = f"{release[0]}.{release[1]}"
        markers["python_full_version"] = ".".join(map(str, release))
        markers["implementation_version"] = markers["python_full_version"]
    major, minor = (int(p) for p in markers["python_version"].split(".")[:2])
    if python_platform is not None:
        plat = _platform(python_platform)
        markers.update(plat.markers)
        platforms: list[str] = list(plat.platform_tags)
    else:
        platforms = list(tags.platform_tags())
    version = (major, minor)
    ordered = [
        *tags.cpython_tags(version, platforms=platforms),
        *tags.compatible_tags(version, f"cp{major}{minor}", platforms),
    ]
    if sys.implementation.name != "cpython" and python_version is None:
        ordered = list(tags.sys_tags())
    return Target(markers, {t: i for i, t in enumerate(ordered)})
