"""Wheel → cache archive (unpacked once) → site-packages by hardlink or copy; uninstall.

The names below are loaded on first use (PEP 562): a command that only looks for an
interrupted sync's journal, or finds nothing to change, never imports the installer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xv.install.archive import unpack_wheel_to_archive
    from xv.install.bytecode import compile_bytecode
    from xv.install.place import InstalledRecord, install_from_archive
    from xv.install.remove import owned_files, uninstall, upgrade

_HOMES = {
    "InstalledRecord": "xv.install.place",
    "compile_bytecode": "xv.install.bytecode",
    "install_from_archive": "xv.install.place",
    "owned_files": "xv.install.remove",
    "uninstall": "xv.install.remove",
    "unpack_wheel_to_archive": "xv.install.archive",
    "upgrade": "xv.install.remove",
}

__all__ = [
    "InstalledRecord",
    "compile_bytecode",
    "install_from_archive",
    "owned_files",
    "uninstall",
    "unpack_wheel_to_archive",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
