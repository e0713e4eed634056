"""From file text to logical lines: continuations, comments, ``${VAR}`` expansion, splitting.

These follow pip's rules exactly, because requirements files are shared with pip and uv and a
line must mean the same thing to all three.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping

from xv.records import record

# pip: a comment starts at a '#' that begins the line or follows whitespace, so URL fragments
# such as '#egg=name' or '#sha256=...' survive.
COMMENT_RE = re.compile(r"(^|\s+)#.*$")
# pip expands only the braced, upper-case form so '$' in URLs and passwords is left alone.
ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


class LineError(Exception):
    """A problem with one logical line; the parser adds the file and line number."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@record
class LogicalLine:
    """A logical line: continuations joined, comment and surrounding whitespace removed.

    ``number`` is the first physical line, which is what a user looks for in an editor.
    """

    number: int
    text: str


def _joined(content: str) -> Iterator[tuple[int, str]]:
    """Join lines ending in a backslash with the next, as pip's ``join_lines`` does.

    A comment line never continues (even if it ends with a backslash) and it ends a
    continuation in progress.
    """
    first: int | None = None
    parts: list[str] = []
    for number, line in enumerate(content.splitlines(), start=1):
        # The pattern needs a '#': most lines of a lock (``--hash`` continuations) have none.
        is_comment = "#" in line and COMMENT_RE.match(line) is not None
        if line.endswith("\\") and not is_comment:
            if not parts:
                first = number
            parts.append(line.strip("\\"))
            continue
        if is_comment:
            line = " " + line  # keeps the comment recognisable once joined
        if parts:
            parts.append(line)
            assert first is not None
            yield first, "".join(parts)
            parts = []
        else:
            yield number, line
    if parts:
        assert first is not None
        yield first, "".join(parts)


def logical_lines(content: str) -> Iterator[LogicalLine]:
    """Yield the non-empty logical lines of a requirements file.

    >>> [(x.number, x.text) for x in logical_lines("a  # c\\n\\nb \\\\\\n  >=1\\n")]
    [(1, 'a'), (3, 'b   >=1')]
    """
    if content.startswith("\ufeff"):
        content = content[1:]
    for number, line in _joined(content):
        # Without a '#' there is no comment; the pattern's search over a long joined line
        # (a pin with many hashes) is most of the cost of reading a lock otherwise.
        text = (COMMENT_RE.sub("", line) if "#" in line else line).strip()
        if text:
            yield LogicalLine(number, text)


def expand_env(value: str, environ: Mapping[str, str], *, strict: bool = False) -> str:
    """Replace ``${NAME}`` by its value. pip leaves an unset or empty variable as written,
    and the index or file it names is then merely "not found"; with ``strict`` (what xv
    does with the files it is given) such a variable is a :class:`LineError` naming it.

    >>> expand_env("https://${USER}:${NOPE}@host", {"USER": "me"})
    'https://me:${NOPE}@host'
    >>> expand_env("https://${USER}:${NOPE}@host", {"USER": "me"}, strict=True)
    Traceback (most recent call last):
    xv.reqfile.lines.LineError: environment variable NOPE is not set
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        found = environ.get(name)
        if found:
            return found
        if strict:
            state = "empty" if name in environ else "not set"
            raise LineError(f"environment variable {name} is {state}")
        return match.group(0)

    if "${" not in value:  # the pattern's own test, without a closure per word
        return value
    return ENV_VAR_RE.sub(replace, value)


_OPTION_START_RE = re.compile(r"\s-")


# shlex.split splits at these only (posix mode, whitespace_split).
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")
_UNQUOTED = re.compile(r"[^\"'\\\\]*\Z")


def split_requirement_line(text: str) -> tuple[str, str]:
    """Split a line into its requirement part and its options part.

    Like pip, the options start at the first whitespace-separated word beginning with '-'.

    >>> split_requirement_line("foo>=1 ; python_version<'3' --hash=sha256:ab")
    ("foo>=1 ; python_version<'3'", '--hash=sha256:ab')
    >>> split_requirement_line("-r base.in")
    ('', '-r base.in')
    """
    if text.startswith("-"):
        return "", text
    match = _OPTION_START_RE.search(text)
    if match is None:
        return text, ""
    return text[: match.start()].rstrip(), text[match.start() :].strip()


def split_words(text: str) -> list[str]:
    """Split an options part into words with shell quoting rules, as pip does.

    >>> split_words("--hash=sha256:ab \t--hash 'sha256:c d'")
    ['--hash=sha256:ab', '--hash', 'sha256:c d']
    """
    if _UNQUOTED.match(text):  # no quote or escape: shlex's answer, without its per-char loop
        return _SHELL_SPACE.split(text.strip(" \t\r\n")) if text.strip(" \t\r\n") else []
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise LineError(f"invalid quoting: {exc}") from None
