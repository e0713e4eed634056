"""The unpack job of sync's prepare step, in a module of its own so that a worker
process imports only the archive code (not the index client, not the CLI)."""

from __future__ import annotations

from xv.install.archive import unpack_wheel_to_archive


def unpack_job(wheel: str, archives: str, full_check: bool, sha256: str | None) -> str:
    """Pool job: the archive tree of a wheel whose hashes the caller has checked."""
    return unpack_wheel_to_archive(wheel, archives, full_check=full_check, sha256=sha256)
