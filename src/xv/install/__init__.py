"""Wheel → cache archive (unpacked once) → site-packages by hardlink or copy; uninstall."""

from xv.install.archive import unpack_wheel_to_archive
from xv.install.bytecode import compile_bytecode
from xv.install.place import InstalledRecord, install_from_archive
from xv.install.remove import owned_files, uninstall, upgrade

__all__ = [
    "InstalledRecord",
    "compile_bytecode",
    "install_from_archive",
    "owned_files",
    "uninstall",
    "unpack_wheel_to_archive",
    "upgrade",
]
