"""Turn the requirement part of a line into a PEP 508 requirement or a direct reference.

Requirement files accept more than PEP 508: bare paths and URLs to archives, ``#egg=`` names,
VCS URLs and editables. Everything here is syntax plus one ``isdir`` check pip also makes; no
file is read and nothing is fetched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from xv.names import canonicalize_name
from xv.records import record
from xv.reqfile.lines import LineError
from xv.reqfile.model import PlainPin
from xv.urls import is_url, url_problem

# packaging's requirement and marker parsers load where a line needs them: a lock of plain
# ``name==version`` pins is read without them (see PlainPin).
if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.specifiers import Specifier, SpecifierSet


def is_exact(spec: Specifier) -> bool:
    """Whether one specifier pins one version: ``==`` or ``===``, without a wildcard.

    >>> from packaging.specifiers import Specifier
    >>> is_exact(Specifier("==1.0")), is_exact(Specifier("==1.*")), is_exact(Specifier(">=1"))
    (True, False, False)
    """
    return spec.operator in ("==", "===") and "*" not in spec.version


def pinned_version(specifier: SpecifierSet) -> str | None:
    """The version text a compiled file's entry pins (one :func:`is_exact` specifier), or None.
    The one rule for what counts as a pin, for ``--check``/preferences and ``xv-sync``.

    >>> from packaging.specifiers import SpecifierSet
    >>> pinned_version(SpecifierSet("==1.0")), pinned_version(SpecifierSet("==1.0,!=2"))
    ('1.0', None)
    """
    specs = list(specifier)
    return specs[0].version if len(specs) == 1 and is_exact(specs[0]) else None


ARCHIVE_EXTENSIONS = (
    ".whl",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tar.lz",
    ".tlz",
    ".tar",
    ".zip",
)
_SDIST_EXTENSIONS = tuple(ext for ext in ARCHIVE_EXTENSIONS if ext != ".whl")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_NAME_AT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_NAME_RE = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$", re.IGNORECASE)
_EXTRAS_SUFFIX_RE = re.compile(r"^(.+?)(\[[^\]]*\])$")
_EGG_RE = re.compile(r"^([^\[\]]+)(\[[^\]]*\])?$")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
# A plain pin: a PEP 508 name, ``==`` and a version in PEP 440's normal form (release,
# aN/bN/rcN, .postN, .devN), which packaging's parser accepts as written; anything else
# (extras, markers, URLs, other operators, epochs, local versions) goes through packaging.
_PLAIN_PIN_RE = re.compile(
    r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*==\s*"
    r"([0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?)\s*"
)


@record
class RequirementParts:
    """What a requirement spec says, before origin and options are attached."""

    requirement: Requirement | PlainPin | None
    name: str | None
    url: str | None
    extras: frozenset[str]
    marker: Marker | None


def first_line(message: str) -> str:
    """packaging's messages end with the input and a caret; our errors are one line."""
    return message.splitlines()[0].strip() if message.strip() else message


def check_url(url: str) -> str:
    """``url``, or a :class:`LineError` saying why it cannot be used."""
    problem = url_problem(url)
    if problem is not None:
        raise LineError(f"invalid URL '{url}': {problem}")
    return url


_UNDEFINED_RE = re.compile(r"^Undefined <Op\('(.+)'\)> on '.*' and '(.*)'\.?$")


def marker_problem(marker: Marker) -> str | None:
    """Why ``marker`` cannot be evaluated (None when it can): packaging parses
    ``python_version ~= "3.x"`` but raises ``UndefinedComparison`` when evaluating it, for
    any environment, since the right-hand side decides. Evaluating it once finds that out.

    >>> from packaging.markers import Marker
    >>> marker_problem(Marker('python_version ~= "3.x"'))
    "~= '3.x' is not a valid version comparison"
    """
    from packaging.markers import UndefinedComparison, default_environment

    try:
        environment = {name: str(value) for name, value in default_environment().items()}
        marker.evaluate({**environment, "extra": ""})
    except UndefinedComparison as exc:
        match = _UNDEFINED_RE.match(str(exc))
        if match is None:  # pragma: no cover - another packaging's wording
            return first_line(str(exc))
        return f"{match.group(1)} {match.group(2)!r} is not a valid version comparison"
    return None


def _checked_marker(marker: Marker | None) -> Marker | None:
    problem = marker_problem(marker) if marker is not None else None
    if problem is not None:
        raise LineError(f"invalid marker '{marker}': {problem}")
    return marker


def looks_like_path(spec: str) -> bool:
    """pip's test: a separator, a leading dot, or an archive file name."""
    if "/" in spec or os.sep in spec or spec.startswith((".", "~")):
        return True
    return spec.lower().endswith(ARCHIVE_EXTENSIONS)


def validate_hash(value: str) -> str:
    """Return ``algorithm:hexdigest`` with a lower-case digest, or raise :class:`LineError`.

    >>> validate_hash("sha256:" + "AB" * 32) == "sha256:" + "ab" * 32
    True
    """
    algorithm, sep, digest = value.partition(":")
    if not sep:
        raise LineError(f"invalid hash '{value}': expected <algorithm>:<hex digest>")
    expected = HASH_LENGTHS.get(algorithm)
    if expected is None:
        raise LineError(
            f"invalid hash '{value}': unsupported algorithm '{algorithm}'"
            " (use sha256, sha384 or sha512)"
        )
    if len(digest) != expected or _HEX_RE.fullmatch(digest) is None:
        raise LineError(f"invalid hash '{value}': expected {expected} hexadecimal digits")
    return f"{algorithm}:{digest.lower()}"


def _parse_marker(text: str) -> Marker | None:
    text = text.strip()
    if not text:
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        marker = Marker(text)
    except InvalidMarker as exc:
        raise LineError(f"invalid marker '{text}': {first_line(str(exc))}") from None
    return _checked_marker(marker)


def _parse_extras(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return frozenset(Requirement(f"x{text}").extras)
    except InvalidRequirement as exc:
        raise LineError(f"invalid extras '{text}': {first_line(str(exc))}") from None


def path_to_url(path: str, working_dir: str) -> str:
    """An absolute ``file://`` URL for ``path`` (relative paths count from ``working_dir``)."""
    absolute = os.path.normpath(os.path.join(working_dir, os.path.expanduser(path)))
    return Path(absolute).as_uri()


def name_from_filename(filename: str) -> str | None:
    """The project name encoded in a wheel or sdist file name, if it is one.

    >>> name_from_filename("Foo_Bar-1.0-py3-none-any.whl"), name_from_filename("x.tar.bz2")
    ('foo-bar', None)
    """
    from packaging.utils import (  # loads packaging.tags: not on a plain lock's path
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    lower = filename.lower()
    try:
        if lower.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if lower.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    for ext in _SDIST_EXTENSIONS:
        if lower.endswith(ext):
            stem = filename[: -len(ext)]
            name, dash, _version = stem.rpartition("-")
            if dash and _NAME_RE.match(name):
                return canonicalize_name(name)
    return None


def _egg_fragment(url: str) -> tuple[str | None, str | None]:
    """``(name, extras)`` from ``#egg=name[extras]``, validated."""
    fragment = urlsplit(url).fragment
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key != "egg":
            continue
        match = _EGG_RE.match(value)
        if match is None or _NAME_RE.match(match.group(1)) is None:
            raise LineError(f"invalid egg fragment '{value}' in '{url}'")
        return match.group(1), match.group(2)
    return None, None


def _combine(
    name: str | None, url: str, extras: frozenset[str], marker: Marker | None
) -> RequirementParts:
    """Build ``name[extras] @ url ; marker`` when the name is known."""
    requirement = None
    if name is not None:
        from packaging.requirements import InvalidRequirement, Requirement

        text = name + (f"[{','.join(sorted(extras))}]" if extras else "") + f" @ {url}"
        if marker is not None:
            text += f" ; {marker}"
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            requirement = None
        name = canonicalize_name(name)
    return RequirementParts(requirement, name, url, extras, marker)


def _parse_url(spec: str) -> RequirementParts:
    # pip needs whitespace before the ';' of a URL's marker because ';' is legal in URLs.
    url, _, marker_text = spec.partition("; ")
    url = check_url(url.strip())
    marker = _parse_marker(marker_text)
    name, extras_text = _egg_fragment(url)
    if name is None:
        path = unquote(urlsplit(url).path)
        name = name_from_filename(path.rstrip("/").rsplit("/", 1)[-1])
    return _combine(name, url, _parse_extras(extras_text), marker)


def _parse_path(spec: str, working_dir: str) -> RequirementParts:
    path, _, marker_text = spec.partition(";")
    path = path.strip()
    match = _EXTRAS_SUFFIX_RE.match(path)
    extras_text = None
    if match is not None:
        path, extras_text = match.group(1), match.group(2)
    name = name_from_filename(os.path.basename(path.rstrip("/" + os.sep)))
    url = path_to_url(path, working_dir)
    return _combine(name, url, _parse_extras(extras_text), _parse_marker(marker_text))


def _parse_pep508(spec: str, working_dir: str) -> RequirementParts:
    plain = _PLAIN_PIN_RE.fullmatch(spec)
    if plain is not None:  # what packaging would make of it, parsed when read
        name = canonicalize_name(plain.group(1))
        return RequirementParts(PlainPin(spec, plain.group(2)), name, None, frozenset(), None)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise LineError(f"invalid requirement '{spec}': {first_line(str(exc))}") from None
    _checked_marker(requirement.marker)
    url = requirement.url
    if url is not None and is_url(url):
        check_url(url)
    if url is not None and not is_url(url):
        # uv accepts 'name @ ./path'; store the absolute file URL so consumers see one form.
        url = path_to_url(url, working_dir)
        return _combine(requirement.name, url, frozenset(requirement.extras), requirement.marker)
    name = canonicalize_name(requirement.name)
    return RequirementParts(
        requirement, name, url, frozenset(requirement.extras), requirement.marker
    )


def parse_spec(spec: str, working_dir: str) -> RequirementParts:
    """Parse the requirement part of a non-editable line."""
    if is_url(spec):
        return _parse_url(spec)
    if _NAME_AT_RE.match(spec) is None and looks_like_path(spec):
        return _parse_path(spec, working_dir)
    return _parse_pep508(spec, working_dir)


def parse_editable(spec: str, working_dir: str) -> RequirementParts:
    """Parse the value of ``-e``: a local project directory or a VCS (or ``file:``) URL."""
    invalid = f"invalid editable requirement '{spec}': expected a local directory or a VCS URL"
    if is_url(spec):
        if not spec.startswith(VCS_PREFIXES) and not spec.startswith("file:"):
            raise LineError(invalid)
        parts = _parse_url(spec)
    elif _NAME_AT_RE.match(spec) is not None:
        parts = _parse_pep508(spec, working_dir)
        if parts.url is None:
            raise LineError(invalid)
    else:
        bare = _EXTRAS_SUFFIX_RE.sub(r"\1", spec)
        local = os.path.join(working_dir, bare)
        if not looks_like_path(bare) and not os.path.isdir(local):
            raise LineError(invalid)
        parts = _parse_path(spec, working_dir)
        parts = RequirementParts(None, None, parts.url, parts.extras, parts.marker)
    if parts.url is not None and parts.url.lower().split("#")[0].endswith(ARCHIVE_EXTENSIONS):
        raise LineError(invalid)
    return parts
