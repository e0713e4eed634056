"""uv's ``--python-platform`` names: the marker values and platform tags of each.

The names, defaults and marker values are uv 0.13's (``uv pip compile --help`` lists the
names): ``linux`` is ``x86_64-unknown-linux-gnu``, a manylinux_2_28 x86_64 system; macOS
and iOS targets assume version 13.0 unless ``MACOSX_DEPLOYMENT_TARGET`` /
``IPHONEOS_DEPLOYMENT_TARGET`` say otherwise; Android assumes API level 24 unless
``ANDROID_API_LEVEL`` does. ``platform_release`` and ``platform_version`` are those of
the named platform (empty for most), never the machine xv runs on. The platform tags come
from the generators in :mod:`xv.env.tags`; as in uv, a cross target ranks the plain
``linux_<arch>`` tag last (a locally built wheel cannot be on an index).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from packaging import tags

from xv.env.tags import (
    android_platforms,
    ios_platforms,
    manylinux_platforms,
    musllinux_platforms,
)
from xv.errors import UsageError
from xv.records import record

_MANYLINUX_MINORS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
_ALIASES = {
    "linux": "x86_64-unknown-linux-gnu",
    "macos": "aarch64-apple-darwin",
    "windows": "x86_64-pc-windows-msvc",
}


@record
class Platform:
    """Marker values (``sys_platform``, ``platform_machine``, ...) and platform tags."""

    markers: dict[str, str]
    platforms: tuple[str, ...]


Env = Mapping[str, str]


def _markers(sys_platform: str, system: str, os_name: str, machine: str) -> dict[str, str]:
    return {
        "sys_platform": sys_platform,
        "platform_system": system,
        "os_name": os_name,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
    }


def _windows(machine: str, tag: str) -> Callable[[Env], Platform]:
    return lambda env: Platform(_markers("win32", "Windows", "nt", machine), (tag,))


def _manylinux(arch: str, minor: int, oldest: int | None = None) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        plats = (*manylinux_platforms((2, minor), [arch], oldest), f"linux_{arch}")
        return Platform(_markers("linux", "Linux", "posix", arch), plats)

    return make


def _musllinux(arch: str) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        plats = (*musllinux_platforms((1, 2), [arch]), f"linux_{arch}")
        return Platform(_markers("linux", "Linux", "posix", arch), plats)

    return make


def _deployment_target(env: Env, variable: str) -> tuple[int, int]:
    """``MACOSX_DEPLOYMENT_TARGET=12.3`` -> (12, 3); 13.0 when unset or unreadable."""
    parts = env.get(variable, "").split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return 13, 0


def _macos(machine: str) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        version = _deployment_target(env, "MACOSX_DEPLOYMENT_TARGET")
        plats = tuple(tags.mac_platforms(version, machine))
        return Platform(_markers("darwin", "Darwin", "posix", machine), plats)

    return make


def _ios(machine: str, multiarch: str) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        version = _deployment_target(env, "IPHONEOS_DEPLOYMENT_TARGET")
        plats = tuple(ios_platforms(version, multiarch))
        return Platform(_markers("ios", "iOS", "posix", machine), plats)

    return make


def _android(machine: str, abi: str) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        text = env.get("ANDROID_API_LEVEL", "")
        level = int(text) if text.isdigit() else 24
        plats = tuple(android_platforms(level, abi))
        return Platform(_markers("android", "Android", "posix", machine), plats)

    return make


def _pyodide(year: int, emscripten: str) -> Callable[[Env], Platform]:
    def make(env: Env) -> Platform:
        markers = _markers("emscripten", "Emscripten", "posix", "wasm32")
        markers.update(platform_release=emscripten, platform_version="#1")
        plats = (f"pyemscripten_{year}_0_wasm32", f"pyodide_{year}_0_wasm32")
        return Platform(markers, plats)

    return make


def _table() -> dict[str, Callable[[Env], Platform]]:
    table: dict[str, Callable[[Env], Platform]] = {
        "x86_64-pc-windows-msvc": _windows("x86_64", "win_amd64"),
        "aarch64-pc-windows-msvc": _windows("ARM64", "win_arm64"),
        "i686-pc-windows-msvc": _windows("x86", "win32"),
        "x86_64-unknown-linux-gnu": _manylinux("x86_64", 28),
        "aarch64-apple-darwin": _macos("arm64"),
        "x86_64-apple-darwin": _macos("x86_64"),
        "aarch64-unknown-linux-gnu": _manylinux("aarch64", 28),
        "aarch64-unknown-linux-musl": _musllinux("aarch64"),
        "x86_64-unknown-linux-musl": _musllinux("x86_64"),
        "riscv64-unknown-linux": _manylinux("riscv64", 39, oldest=31),
    }
    for arch in ("x86_64", "aarch64"):
        table[f"{arch}-manylinux2014"] = _manylinux(arch, 17)
        for minor in _MANYLINUX_MINORS:
            table[f"{arch}-manylinux_2_{minor}"] = _manylinux(arch, minor)
    table.update(
        {
            "aarch64-linux-android": _android("aarch64", "arm64_v8a"),
            "x86_64-linux-android": _android("x86_64", "x86_64"),
            "wasm32-pyodide2024": _pyodide(2024, "3.1.58"),
            "wasm32-pyodide2025": _pyodide(2025, "4.0.9"),
            "arm64-apple-ios": _ios("arm64", "arm64_iphoneos"),
            "arm64-apple-ios-simulator": _ios("arm64", "arm64_iphonesimulator"),
            "x86_64-apple-ios-simulator": _ios("x86_64", "x86_64_iphonesimulator"),
        }
    )
    return table


_TABLE = _table()
# uv also takes a manylinux target spelled as its platform tag: manylinux_2_28_x86_64.
_TAG_SPELLINGS = {
    f"{name.split('-', 1)[1]}_{name.split('-', 1)[0]}": name
    for name in _TABLE
    if "-manylinux" in name
}
NAMES = (*_ALIASES, *_TABLE)


def platform_named(name: str, env: Env) -> Platform:
    """The platform uv means by ``--python-platform NAME`` (``env`` supplies the
    deployment-target variables)."""
    key = _ALIASES.get(name) or _TAG_SPELLINGS.get(name) or name
    make = _TABLE.get(key)
    if make is None:
        raise UsageError(f"unknown --python-platform {name!r}; expected one of {', '.join(NAMES)}")
    return make(env)
