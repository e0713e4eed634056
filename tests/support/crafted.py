"""Crafted (hostile or broken) wheels, byte for byte as a test wants them.

:func:`craft_wheel` writes whatever it is told: names that disagree, odd WHEEL
files, escaping paths, RECORDs that lie. Serve it with ``LocalIndex.add_raw``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence

DEFAULT_WHEEL = "Wheel-Version: 1.0\nGenerator: crafted\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def craft_wheel(
    dist_info: str,
    files: Mapping[str, bytes | str] = {},
    *,
    name: str | None = None,
    version: str | None = None,
    wheel: str | None = DEFAULT_WHEEL,
    entry_points: str | None = None,
    unrecorded: Sequence[str] = (),
    extra_rows: Sequence[Sequence[str]] = (),
    record: bytes | None = None,
    metadata: bytes | None = None,
) -> bytes:
    """A wheel holding ``files`` plus ``<dist_info>/METADATA`` (``Name``/``Version`` default
    to the dist-info directory's), WHEEL (None: left out) and entry_points.txt; RECORD lists
    every member except those in ``unrecorded``, then ``extra_rows``; ``record`` and
    ``metadata`` replace the generated files."""
    stem_name, _, stem_version = dist_info.removesuffix(".dist-info").rpartition("-")
    if metadata is None:
        text = f"Metadata-Version: 2.1\nName: {name or stem_name}\nVersion: {version or stem_version}\n\n"
        metadata = text.encode()
    members: dict[str, bytes] = {
        path: data.encode() if isinstance(data, str) else data for path, data in files.items()
    }
    members[f"{dist_info}/METADATA"] = metadata
    if wheel is not None:
        members[f"{dist_info}/WHEEL"] = wheel.encode()
    if entry_points is not None:
        members[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    if record is None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for path, data in members.items():
            if path not in unrecorded:
                writer.writerow([path, record_hash(data), len(data)])
        for row in extra_rows:
            writer.writerow(row)
        writer.writerow([f"{dist_info}/RECORD", "", ""])
        record = out.getvalue().encode()
    members[f"{dist_info}/RECORD"] = record
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in members.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 2, 2, 0, 0, 0)), data)
    return buffer.getvalue()
