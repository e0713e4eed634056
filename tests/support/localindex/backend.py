"""A stdlib-only wheel writer and in-tree PEP 517 backend.

This one file does two jobs. The local index imports :func:`write_wheel` to
build the wheels it serves, and the sdist builder copies this file verbatim
into every sdist as ``_backend/xv_test_backend.py`` (``backend-path``), where
the PEP 517 hooks at the bottom rebuild the very same wheel offline from the
unpacked tree. Keep it free of third-party imports.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import struct
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Every member of every archive gets this timestamp, so builds are reproducible.
ZIP_DATE_TIME = (2020, 2, 2, 0, 0, 0)
BUILD_CONFIG = "xv_build.json"
DATA_DIR = "xv_data"


def record_hash(data: bytes) -> str:
    """The RECORD form of a sha256 digest: ``sha256=<urlsafe b64, no padding>``."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def expand_tag(tag: str) -> list[str]:
    """``py2.py3-none-any`` -> ``["py2-none-any", "py3-none-any"]``."""
    interps, abis, plats = (part.split(".") for part in tag.split("-"))
    return [f"{i}-{a}-{p}" for i in interps for a in abis for p in plats]


def wheel_file_text(tag: str) -> str:
    pure = all(t.split("-")[1:] == ["none", "any"] for t in expand_tag(tag))
    lines = ["Wheel-Version: 1.0", "Generator: xv-localindex (1.0)"]
    lines.append(f"Root-Is-Purelib: {'true' if pure else 'false'}")
    lines += [f"Tag: {t}" for t in expand_tag(tag)]
    return "\n".join(lines) + "\n"


def _zip_info(arcname: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
    info.create_system = 3
    info.external_attr = (0o100644 << 16) if not arcname.endswith("/") else (0o40755 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    return info


def write_wheel(
    path: str | os.PathLike[str],
    dist_info: str,
    tag: str,
    members: Iterable[tuple[str, bytes]],
    metadata: str,
    entry_points: str | None = None,
    stored: Iterable[str] = (),
) -> None:
    """Write a wheel: ``members`` in order, then the ``.dist-info`` files and RECORD.

    ``stored`` names members kept uncompressed (large padding files, so the
    wheel really is as large as asked).
    """
    entries = list(members)
    entries.append((f"{dist_info}/METADATA", metadata.encode("utf-8")))
    entries.append((f"{dist_info}/WHEEL", wheel_file_text(tag).encode("utf-8")))
    if entry_points:
        entries.append((f"{dist_info}/entry_points.txt", entry_points.encode("utf-8")))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arcname, data in entries:
        writer.writerow([arcname, record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries.append((f"{dist_info}/RECORD", record.getvalue().encode("utf-8")))
    keep = set(stored)
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, data in entries:
            zf.writestr(_zip_info(arcname, compress=arcname not in keep), data)


def make_zip64(path: str | os.PathLike[str]) -> None:
    """Rewrite a zip's end records in zip64 form (zip64 EOCD record + locator).

    The classic end record then holds the 0xFFFF/0xFFFFFFFF escapes, so a
    reader has to follow the locator, which is what a real >4 GiB wheel forces.
    """
    data = Path(path).read_bytes()
    eocd_at = data.rfind(b"PK\x05\x06")
    (_sig, _disk, _cd_disk, n_here, n_total, cd_size, cd_offset, _clen) = struct.unpack(
        "<4s4H2LH", data[eocd_at : eocd_at + 22]
    )
    body = data[:eocd_at]
    zip64_at = len(body)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n_here, n_total, cd_size, cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    Path(path).write_bytes(body + record + locator + eocd)


# --- PEP 517 hooks, used when this file sits in an sdist's _backend/ ------------


def _config(source_dir: str | None = None) -> dict[str, object]:
    root = Path(source_dir or os.getcwd())
    config: dict[str, object] = json.loads((root / BUILD_CONFIG).read_text("utf-8"))
    return config


def _members_from_tree(config: Mapping[str, object]) -> list[tuple[str, bytes]]:
    root = Path(os.getcwd())
    members: list[tuple[str, bytes]] = []
    modules = config["modules"]
    assert isinstance(modules, list)
    for rel in modules:
        members.append((rel, (root / rel).read_bytes()))
    data_files = config["data_files"]
    assert isinstance(data_files, list)
    for rel in data_files:
        data_dir = str(config["dist_info"]).removesuffix(".dist-info") + ".data"
        arcname = f"{data_dir}/data/{rel}"
        members.append((arcname, (root / DATA_DIR / rel).read_bytes()))
    return members


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: object = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: object = None
) -> str:
    config = _config()
    dist_info = str(config["dist_info"])
    target = Path(metadata_directory) / dist_info
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(str(config["metadata"]), "utf-8")
    (target / "WHEEL").write_text(wheel_file_text(str(config["tag"])), "utf-8")
    if config.get("entry_points"):
        (target / "entry_points.txt").write_text(str(config["entry_points"]), "utf-8")
    return dist_info


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: str | None = None
) -> str:
    config = _config()
    filename = str(config["wheel_filename"])
    write_wheel(
        Path(wheel_directory) / filename,
        dist_info=str(config["dist_info"]),
        tag=str(config["tag"]),
        members=_members_from_tree(config),
        metadata=str(config["metadata"]),
        entry_points=str(config.get("entry_points") or "") or None,
        stored=[str(name) for name in config.get("stored", [])],  # type: ignore[attr-defined]
    )
    return filename
