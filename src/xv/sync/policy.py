"""Which file of a pinned version xv-sync may install.

xv-compile applies ``--exclude-newer`` while it chooses versions
(:func:`xv.resolver.candidates.build_candidates`); xv-sync has its versions already, so
there the cut-off narrows the files of each pin, beside ``--only-binary``/``--no-binary``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from xv.records import record
from xv.resolver.binary import BinaryPolicy, uploaded_after

if TYPE_CHECKING:  # the type only: a sync from a hashed lock with cached wheels reads no page
    from xv.index.simple import DistFile


@record
class FilePolicy(BinaryPolicy):
    """The binary policy of a sync, and its ``--exclude-newer`` cut-off."""

    exclude_newer: datetime | None = None

    def uploaded_in_time(self, file: DistFile) -> bool:
        """False for a file uploaded after ``exclude_newer`` (one with no time is kept)."""
        return self.exclude_newer is None or not uploaded_after(file, self.exclude_newer)


ANY_FILE = FilePolicy()  # no --only-binary/--no-binary/--exclude-newer
