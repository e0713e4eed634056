"""Wheel tags as text, without importing ``packaging.tags``.

``packaging.tags`` imports platform, subprocess, sysconfig and logging (~15 ms): a sync
into a fresh environment whose wheels are cached judges tags only by their text (the
interpreter's tags come from the cache, see :func:`xv.env.interpreter.with_tags`). A tag
is compared as ``str(packaging.tags.Tag)`` writes it; :func:`expand` is
``packaging.tags.parse_tag`` on such text (each of the three parts split at ``.``, lower
case), and tests/unit/test_tagtext.py checks both against packaging on any text.

>>> sorted(expand("py2.py3-none-ANY"))
['py2-none-any', 'py3-none-any']
>>> sorted(filename_tags("Foo-1.0-py3-none-any.whl") or ())
['py3-none-any']
"""

from __future__ import annotations


def is_plain(text: str) -> bool:
    """Whether ``text`` is one tag as ``str(Tag)`` writes it (three parts, no compressed
    set, lower case): an interpreter's ~900 tags all are, and each is its own expansion,
    so the callers that rank them skip :func:`expand` (not a check: an interpreter's own
    tags are not validated again)."""
    return text.count("-") == 2 and "." not in text and text.islower()


def expand(text: str) -> frozenset[str]:
    """``{str(tag) for tag in packaging.tags.parse_tag(text)}``; ValueError where it raises
    (packaging's InvalidTag is one): not three parts, an empty member, or an interpreter
    that is not an identifier."""
    parts = [component.split(".") for component in text.split("-")]
    if any("" in members for members in parts):
        raise ValueError(f"Tag {text!r} has an empty component")
    interpreters, abis, platforms = parts
    if not all(interpreter.isidentifier() for interpreter in interpreters):
        raise ValueError(f"Tag {text!r} has an invalid interpreter")
    return frozenset(
        f"{interpreter}-{abi}-{platform}".lower()
        for interpreter in interpreters
        for abi in abis
        for platform in platforms
    )


def wheel_parts(filename: str) -> list[str] | None:
    """A wheel file name's dash-separated parts (name, version, [build,] python, abi,
    platform: a wheel's name part holds no "-"), or None when it has not that shape.
    Nothing in them is checked here.

    >>> wheel_parts("Foo_Bar-1.0-1-py3-none-any.whl"), wheel_parts("foo-1.0.tar.gz")
    (['Foo_Bar', '1.0', '1', 'py3', 'none', 'any'], None)
    """
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    return parts if len(parts) in (5, 6) else None


def filename_tags(filename: str) -> frozenset[str] | None:
    """The tags a wheel's file name gives (name-version[-build]-tags.whl), or None when
    it has not the shape of one (ValueError for tags :func:`expand` refuses). Names and
    versions are not checked here."""
    parts = wheel_parts(filename)
    return None if parts is None else expand("-".join(parts[-3:]))
