# ruff: noqa: UP031
# mypy: allow-untyped-defs, allow-untyped-calls
"""Runs INSIDE the target interpreter and prints its facts as one JSON object.

xv reads this file's source and runs it with ``python -I -c``, so it must work on
every Python the target may be (3.8 and later): standard library only, no
annotations, no syntax newer than 3.8. Importing it from xv does nothing.
Everything that depends on policy (tag ordering, manylinux rules) is computed in
xv from these facts, not here.
"""

import json
import os
import sys

# platform and sysconfig are imported where used: xv imports this module for SCHEMA and its
# source on every start, and they cost ~5 ms there.

SCHEMA = 1


def _implementation_version():
    v = sys.implementation.version
    text = "%d.%d.%d" % (v.major, v.minor, v.micro)
    if v.releaselevel != "final":
        text += v.releaselevel[0] + str(v.serial)
    return text


def _markers():
    import platform

    # Mirrors packaging.markers.default_environment().
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _implementation_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _paths(is_venv):
    import sysconfig

    paths = sysconfig.get_paths()
    if is_venv:
        # Where pip puts a wheel's .data/headers in a virtual environment.
        headers = os.path.join(sys.prefix, "include", "site", "python%d.%d" % sys.version_info[:2])
    else:
        headers = paths["include"]
    out = {"headers": headers}
    for key in ("purelib", "platlib", "scripts", "data", "include", "stdlib"):
        out[key] = paths[key]
    return out


def _glibc():
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, OSError, ValueError):
        return None
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] != "glibc":
        return None
    numbers = parts[1].split(".")
    try:
        return [int(numbers[0]), int(numbers[1])]
    except (IndexError, ValueError):
        return None


def _musl():
    import glob
    import re
    import subprocess

    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            proc = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        except OSError:
            continue
        match = re.search(r"Version (\d+)\.(\d+)", proc.stderr.decode("utf-8", "replace"))
        if match:
            return [int(match.group(1)), int(match.group(2))]
    return None


def _mac():
    import platform
    import subprocess

    version, _, arch = platform.mac_ver()
    if version == "10.16":
        # Built against an old SDK: ask again without the compatibility shim.
        env = dict(os.environ, SYSTEM_VERSION_COMPAT="0")
        code = "import platform; print(platform.mac_ver()[0])"
        proc = subprocess.run([sys.executable, "-sS", "-c", code], stdout=subprocess.PIPE, env=env)
        version = proc.stdout.decode().strip() or version
    numbers = [int(x) for x in version.split(".")[:2] if x.isdigit()]
    return numbers, arch


def _config():
    import importlib.machinery
    import sysconfig

    names = ("Py_DEBUG", "Py_GIL_DISABLED", "py_version_nodot", "EXT_SUFFIX", "SOABI")
    out = dict((name, sysconfig.get_config_var(name)) for name in names)
    out["has_gettotalrefcount"] = hasattr(sys, "gettotalrefcount")
    out["has_d_pyd"] = "_d.pyd" in importlib.machinery.EXTENSION_SUFFIXES
    return out


def facts():
    import platform
    import sysconfig

    is_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    system = platform.system()
    out = {
        "schema": SCHEMA,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "is_venv": is_venv,
        "version": list(sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "markers": _markers(),
        "paths": _paths(is_venv),
        "platform": sysconfig.get_platform(),
        "system": system,
        "is_32bit": sys.maxsize <= 2**32,
        "glibc": None,
        "musl": None,
        "mac_version": None,
        "mac_arch": None,
        "config": _config(),
    }
    if system == "Linux":
        out["glibc"] = _glibc()
        if out["glibc"] is None:
            out["musl"] = _musl()
    elif system == "Darwin":
        out["mac_version"], out["mac_arch"] = _mac()
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(facts()))
