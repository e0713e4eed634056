"""Distribution file names: the project and version a wheel or sdist names.

Apart from :mod:`xv.index.simple` (whose records load :mod:`dataclasses`): a page worker
(:mod:`xv.index.pageworker`) groups a page's files by their versions with these, and
imports nothing it does not use (each worker's interpreter counts in a compile's memory).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from packaging.version import InvalidVersion, Version

from xv.env.tagtext import wheel_parts
from xv.names import canonicalize_name

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
ABSOLUTE = ("https://", "http://", "file://")  # a file URL that is not relative to its page
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


def url_filename(url: str) -> str:
    """The last segment of ``url``'s path, unquoted: the file name a link without one has."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def file_version(project: str, filename: str) -> Version | None:
    """The version of ``project`` that a wheel or sdist file holds; None when it is none.

    Cached and quick on wheels (a page lists thousands of files, each read many
    times); a file whose name is another project's is not a file of ``project``.

    >>> file_version("cffi", "cffi-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    <Version('2.0.0')>
    >>> file_version("cffi", "cffi-1.0.2-2.tar.gz")  # not cffi 2: an old post-release
    <Version('1.0.2.post2')>
    >>> file_version("cffi", "cffi_ext-1.0.tar.gz") is None
    True
    """
    return _file_version(_canonical(project), filename)


# Names repeat across a page's files (and the project's across calls): parsed once each.
_canonical = lru_cache(maxsize=8192)(canonicalize_name)


def parse_file_version(project: str, filename: str) -> Version | None:
    """:func:`file_version` for a canonical ``project``, parsed each time: for a pass over
    a page's files, each met once (the cache would only hold them)."""
    wheel = filename.endswith(".whl")
    if not wheel and not filename.lower().endswith(SDIST_SUFFIXES):
        return None
    text = usual_version_text(project, filename)
    if text is not None:
        found_version = parsed_version(text)
        if found_version is not None or wheel:  # a wheel's version is that part or none
            return found_version
    found = dist_name_version(filename, project)
    return found[1] if found is not None and found[0] == project else None


def usual_version_text(project: str, filename: str) -> str | None:
    """The version part, unparsed, of a file of the canonical ``project`` named the usual
    way: a wheel's second part (its name part naming the project), or an sdist's
    "<project>-<version><suffix>"; None for any other name. What
    :func:`parse_file_version` parses first, for a caller that can often do without the
    parse (:class:`xv.index.pageform._Groups`).

    The usual sdist's first dash whose prefix names the project is this one (a shorter
    prefix has a shorter canonical name), so :func:`dist_name_version` would pick it too;
    it is only quicker, and the version is shared with the wheels of that version.

    >>> usual_version_text("foo-bar", "Foo.Bar-1.0.tar.gz")
    '1.0'
    >>> usual_version_text("foo", "foo-2-py3-none-any.whl")
    '2'
    >>> usual_version_text("foo", "foobar-1.0.tar.gz") is None
    True
    """
    if filename.endswith(".whl"):
        parts = wheel_parts(filename)
        return parts[1] if parts is not None and _canonical(parts[0]) == project else None
    n = len(project)
    head = filename[:n]
    if filename[n : n + 1] == "-" and _NAME_RE.match(head) and _canonical(head) == project:
        rest = filename[n + 1 :]
        lower = rest.lower()
        suffix = next((s for s in SDIST_SUFFIXES if lower.endswith(s)), None)
        if suffix is not None:
            return rest[: -len(suffix)]
    return None


_file_version = lru_cache(maxsize=65536)(parse_file_version)


@lru_cache(maxsize=65536)
def parsed_version(text: str) -> Version | None:
    """``Version(text)``, None when it is none; kept: a cold run parses each version of a
    page while grouping its files, and the resolver's list of the page's versions
    (:func:`xv.resolver.candidates.build_candidates`) asks for the same texts again."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def is_dist_filename(filename: str) -> bool:
    """Whether a filename has the suffix of a wheel or an sdist we can use."""
    lower = filename.lower()
    return lower.endswith(".whl") or lower.endswith(SDIST_SUFFIXES)


def dist_name_version(filename: str, project: str | None = None) -> tuple[str, Version] | None:
    """The normalised project name and version a wheel or sdist filename names.

    Returns None for other files (``.exe``, ``.egg``, ...) and unparsable names.
    For sdists, whose names are often not normalised, ``project`` says where the
    name ends; without it (or when it does not match) the first dash followed by
    a valid version splits the stem.

    >>> dist_name_version("Django-4.2.tar.gz")
    ('django', <Version('4.2')>)
    >>> dist_name_version("python-dateutil-2.8.2.tar.gz", "python_dateutil")
    ('python-dateutil', <Version('2.8.2')>)
    >>> dist_name_version("pip-24.0-py3-none-any.whl")
    ('pip', <Version('24.0')>)
    >>> dist_name_version("pywin32-306.win32-py3.8.exe") is None
    True
    """
    if filename.endswith(".whl"):
        # packaging.utils loads packaging.tags: only where a wheel's name is parsed
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        return name, version
    lower = filename.lower()
    for suffix in SDIST_SUFFIXES:
        if lower.endswith(suffix):
            return _split_sdist_stem(filename[: -len(suffix)], project)
    return None


def _split_sdist_stem(stem: str, project: str | None) -> tuple[str, Version] | None:
    dashes = [i for i, c in enumerate(stem) if c == "-"]
    if project is not None:
        wanted = canonicalize_name(project)
        for i in dashes:
            if canonicalize_name(stem[:i]) == wanted:
                parsed = _name_version(stem[:i], stem[i + 1 :])
                if parsed is not None:
                    return parsed
    for i in dashes:
        parsed = _name_version(stem[:i], stem[i + 1 :])
        if parsed is not None:
            return parsed
    return None


def _name_version(name: str, version: str) -> tuple[str, Version] | None:
    if not _NAME_RE.match(name) or not version:
        return None
    try:
        return canonicalize_name(name), Version(version)
    except InvalidVersion:
        return None
