"""The option words of requirements files: spellings, values and how they accumulate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from xv.reqfile.lines import LineError
from xv.reqfile.model import FileOptions

# spelling -> (canonical long name, takes a value)
OPTIONS: dict[str, tuple[str, bool]] = {
    "-r": ("--requirement", True),
    "--requirement": ("--requirement", True),
    "-c": ("--constraint", True),
    "--constraint": ("--constraint", True),
    "-e": ("--editable", True),
    "--editable": ("--editable", True),
    "-i": ("--index-url", True),
    "--index-url": ("--index-url", True),
    "--extra-index-url": ("--extra-index-url", True),
    "-f": ("--find-links", True),
    "--find-links": ("--find-links", True),
    "--no-index": ("--no-index", False),
    "--trusted-host": ("--trusted-host", True),
    "--pre": ("--pre", False),
    "--only-binary": ("--only-binary", True),
    "--no-binary": ("--no-binary", True),
    "--prefer-binary": ("--prefer-binary", False),
    "--require-hashes": ("--require-hashes", False),
    "--hash": ("--hash", True),
}
FLAGS = {
    "--no-index": "no_index",
    "--pre": "pre",
    "--prefer-binary": "prefer_binary",
    "--require-hashes": "require_hashes",
}


class Option(NamedTuple):
    """One option word (and its value) as written and as understood (a named tuple: a
    lock holds one per ``--hash``, hundreds, and a tuple is made ~5x faster than a frozen
    dataclass instance)."""

    spelling: str
    name: str
    value: str | None
    raw_value: str | None


def iter_options(words: list[str], raw_words: list[str]) -> Iterator[Option]:
    """Read options in the forms ``-rX``, ``-r X``, ``-r=X``, ``--opt=X`` and ``--opt X``.

    ``words`` are env-expanded, ``raw_words`` are as written (same length).
    """
    i = 0
    while i < len(words):
        word, raw = words[i], raw_words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            raise LineError(f"unexpected argument '{word}'")
        if word.startswith("--"):
            spelling, eq, value = word.partition("=")
            raw_value = raw.partition("=")[2]
            has_value = bool(eq)
        else:
            spelling, value = word[:2], word[2:].removeprefix("=")
            raw_value = raw[2:].removeprefix("=")
            has_value = bool(word[2:])
        known = OPTIONS.get(spelling)
        if known is None:
            raise LineError(f"unknown option '{spelling}'")
        name, takes_value = known
        if not takes_value:
            if has_value:
                raise LineError(f"option '{spelling}' takes no value")
            yield Option(spelling, name, None, None)
            continue
        if not has_value:
            if i >= len(words):
                raise LineError(f"option '{spelling}' requires a value")
            value, raw_value = words[i], raw_words[i]
            i += 1
        if not value:
            raise LineError(f"option '{spelling}' requires a value")
        yield Option(spelling, name, value, raw_value)


@dataclass
class OptionState:
    """Mutable accumulator behind :class:`FileOptions`."""

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    trusted_hosts: list[str] = field(default_factory=list)
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)

    def freeze(self) -> FileOptions:
        return FileOptions(
            index_url=self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links)),
            no_index="no_index" in self.flags,
            trusted_hosts=tuple(dict.fromkeys(self.trusted_hosts)),
            pre="pre" in self.flags,
            only_binary=frozenset(self.only_binary),
            no_binary=frozenset(self.no_binary),
            prefer_binary="prefer_binary" in self.flags,
            require_hashes="require_hashes" in self.flags,
        )


def merge_binary(value: str, target: set[str], other: set[str], spelling: str) -> None:
    """pip's ``--only-binary``/``--no-binary`` rule: ``:all:`` and ``:none:`` reset the sets.

    A name given to one option is removed from the other, so the last word wins.
    """
    items = value.split(",")
    while ":all:" in items:
        other.clear()
        target.clear()
        target.add(":all:")
        del items[: items.index(":all:") + 1]
        if ":none:" not in items:
            return
    from packaging.utils import InvalidName, canonicalize_name  # loads packaging.tags: here only

    for item in items:
        if item == ":none:":
            target.clear()
            continue
        try:
            name = canonicalize_name(item, validate=True)
        except InvalidName:
            raise LineError(f"invalid package name '{item}' in {spelling}") from None
        other.discard(name)
        target.add(name)
