"""``--only-binary``/``--no-binary``/``--no-build`` as a policy, and the ``--exclude-newer``
test of one file: a leaf module, so xv-sync's file policy loads without the page readers
(:mod:`xv.resolver.candidates` re-exports both)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from xv.records import record

if TYPE_CHECKING:  # the type only: the page readers (html.parser, ...) load with a page
    from xv.index.simple import DistFile


@record
class BinaryPolicy:
    """``--only-binary``/``--no-binary``/``--no-build`` as sets of names (or ``:all:``)."""

    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    no_build: bool = False

    def wheels_allowed(self, name: str) -> bool:
        return not ({":all:", name} & self.no_binary) or name in self.only_binary

    def build_refusal(self, name: str) -> str:
        """Which option disables building ``name``, in uv's words (for a hint)."""
        if self.no_build or ":all:" in self.only_binary:
            flag = "--no-build" if self.no_build else "--only-binary :all:"
            return f"all packages (i.e., with `{flag}`)"
        return f"`{name}` (i.e., with `--only-binary {name}` or `--no-build-package {name}`)"

    def sdists_allowed(self, name: str) -> bool:
        if self.no_build:
            return False
        return not ({":all:", name} & self.only_binary) or name in self.no_binary


def uploaded_after(file: DistFile, cutoff: datetime) -> bool:
    """Whether the index says ``file`` was uploaded after ``cutoff`` (``--exclude-newer``);
    a file without a readable upload time is kept."""
    if not file.upload_time:
        return False
    try:
        uploaded = datetime.fromisoformat(file.upload_time.replace("Z", "+00:00"))
    except ValueError:
        return False
    return uploaded > cutoff
