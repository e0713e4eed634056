"""Supported wheel tags of a target interpreter, computed from the facts it reported.

The target may not have ``packaging`` installed, so it only reports raw facts
(see ``_probe.py``); this module feeds them to ``packaging.tags``' parameterised
generators. The manylinux, musllinux, Android and iOS platform lists are computed here
because ``packaging`` only computes them for the running process (or, for Android and
iOS, only in versions newer than xv requires). This is the one tag generator: the
running interpreter, another interpreter and a ``--python-platform`` target
(:mod:`xv.env.target`) all get their tags from :func:`interpreter_tags`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from packaging import tags

_SHORT_NAMES = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def normalize_platform(text: str) -> str:
    """``sysconfig.get_platform()`` as a tag: ``macosx-11.0-arm64`` -> ``macosx_11_0_arm64``.

    >>> normalize_platform("linux-x86_64")
    'linux_x86_64'
    """
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def manylinux_platforms(
    glibc: tuple[int, int], archs: Sequence[str], oldest_minor: int | None = None
) -> Iterator[str]:
    """Every ``manylinux`` platform a glibc of this version runs, best first (as
    ``packaging._manylinux.platform_tags``; ``oldest_minor`` raises the floor, as uv does
    for riscv64, whose first manylinux is 2.31).

    >>> list(manylinux_platforms((2, 18), ["aarch64"]))
    ['manylinux_2_18_aarch64', 'manylinux_2_17_aarch64', 'manylinux2014_aarch64']
    """
    oldest = 5 if set(archs) & {"x86_64", "i686"} else 17
    if oldest_minor is not None:
        oldest = max(oldest, oldest_minor)
    for arch in archs:
        for minor in range(glibc[1], oldest - 1, -1):
            version = (glibc[0], minor)
            yield f"manylinux_{version[0]}_{version[1]}_{arch}"
            legacy = _LEGACY_MANYLINUX.get(version)
            if legacy:
                yield f"{legacy}_{arch}"


def musllinux_platforms(musl: tuple[int, int], archs: Sequence[str]) -> Iterator[str]:
    """``musllinux_1_2_x86_64``, ``musllinux_1_1_x86_64``, ... for a musl of this version."""
    for arch in archs:
        for minor in range(musl[1], -1, -1):
            yield f"musllinux_{musl[0]}_{minor}_{arch}"


def android_platforms(api_level: int, abi: str) -> Iterator[str]:
    """``android_24_arm64_v8a`` down to API level 16, the oldest CPython runs on.

    >>> list(android_platforms(17, "x86_64"))
    ['android_17_x86_64', 'android_16_x86_64']
    """
    for level in range(api_level, 15, -1):
        yield f"android_{level}_{abi}"


def ios_platforms(version: tuple[int, int], multiarch: str) -> Iterator[str]:
    """``ios_13_0_arm64_iphoneos``, then every older X.Y down to 12.0 (minor up to 9).

    >>> list(ios_platforms((12, 1), "arm64_iphoneos"))
    ['ios_12_1_arm64_iphoneos', 'ios_12_0_arm64_iphoneos']
    """
    major, minor = version
    if major < 12:
        return
    for m in range(minor, -1, -1):
        yield f"ios_{major}_{m}_{multiarch}"
    for older in range(major - 1, 11, -1):
        for m in range(9, -1, -1):
            yield f"ios_{older}_{m}_{multiarch}"


def linux_platforms(facts: Mapping[str, Any]) -> list[str]:
    """The platform tags of a Linux interpreter, ordered as ``packaging`` >= 26.3 does.

    The native ``linux_<arch>`` tag comes first (a wheel built on this machine is
    the best match), then manylinux, then musllinux.
    """
    linux = normalize_platform(facts["platform"])
    if not linux.startswith("linux_"):
        return [linux]
    if facts.get("is_32bit"):
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
    out = [f"linux_{a}" for a in archs]
    if facts.get("glibc"):
        out += manylinux_platforms(tuple(facts["glibc"]), archs)
    if facts.get("musl"):
        out += musllinux_platforms(tuple(facts["musl"]), archs)
    return out


def platform_tags(facts: Mapping[str, Any]) -> list[str]:
    """The platform part of the supported tags, best first."""
    system = facts.get("system")
    if system == "Linux":
        return linux_platforms(facts)
    if system == "Darwin" and facts.get("mac_version"):
        major, minor = (list(facts["mac_version"]) + [0])[:2]
        arch = facts.get("mac_arch") or "x86_64"
        if arch == "x86_64" and facts.get("is_32bit"):
            arch = "i386"
        return list(tags.mac_platforms((major, minor), arch))
    return [normalize_platform(facts["platform"])]


def cpython_abis(version: tuple[int, int], config: Mapping[str, Any]) -> list[str]:
    """The ABI tags of a CPython 3.8+ build: ``cp312``, ``cp313t``, ``cp311d`` + ``cp311``."""
    nodot = f"{version[0]}{version[1]}"
    with_debug = config.get("Py_DEBUG")
    debug = ""
    if with_debug or (
        with_debug is None and (config.get("has_gettotalrefcount") or config.get("has_d_pyd"))
    ):
        debug = "d"
    threading = "t" if version >= (3, 13) and config.get("Py_GIL_DISABLED") else ""
    abis = [f"cp{nodot}{threading}{debug}"]
    if debug:
        abis.append(f"cp{nodot}{threading}")  # debug builds also load normal extensions
    return abis


def generic_abis(config: Mapping[str, Any]) -> list[str]:
    """The ABI of a non-CPython interpreter from its extension suffix (``pypy38_pp73``)."""
    ext_suffix = config.get("EXT_SUFFIX")
    if not isinstance(ext_suffix, str):
        return []
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        return []
    soabi = parts[1]
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return [normalize_platform(abi)] if abi else []


def supported_tags(facts: Mapping[str, Any]) -> list[str]:
    """Every wheel tag the interpreter described by ``facts`` accepts, best first.

    Matches ``packaging.tags.sys_tags()`` run inside that interpreter.
    """
    version = (int(facts["version"][0]), int(facts["version"][1]))
    config = facts.get("config") or {}
    return interpreter_tags(version, facts["implementation"], config, platform_tags(facts))


def interpreter_tags(
    version: tuple[int, int],
    implementation: str,
    config: Mapping[str, Any],
    platforms: Sequence[str],
) -> list[str]:
    """The wheel tags of an interpreter of this version and implementation (sysconfig
    values in ``config``: ABI flags, ``py_version_nodot``) on these platforms, best first."""
    name = _SHORT_NAMES.get(implementation, implementation)
    nodot = str(config.get("py_version_nodot") or f"{version[0]}{version[1]}")
    if name == "cp":
        found = list(tags.cpython_tags(version, cpython_abis(version, config), platforms))
        interpreter: str | None = f"cp{nodot}"
    else:
        found = list(tags.generic_tags(f"{name}{nodot}", generic_abis(config), platforms))
        interpreter = "pp3" if name == "pp" else None
    found += tags.compatible_tags(version, interpreter, platforms)
    return [str(tag) for tag in found]
