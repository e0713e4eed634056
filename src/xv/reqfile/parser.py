"""The recursive parser: reads files and URLs, follows ``-r``/``-c`` and collects options.

One :class:`_Parser` walks the include tree depth-first and appends to shared accumulators, so
options and requirements keep the order in which pip would see them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urljoin, urlsplit

from xv.errors import IncludeLoopError, RequirementFileError, XvError
from xv.records import record
from xv.reqfile.lines import (
    LineError,
    LogicalLine,
    expand_env,
    logical_lines,
    split_requirement_line,
    split_words,
)
from xv.reqfile.model import Origin, ParsedRequirement, RequirementsFile
from xv.reqfile.options import FLAGS, Option, OptionState, iter_options, merge_binary
from xv.reqfile.requirement import (
    RequirementParts,
    check_url,
    parse_editable,
    parse_spec,
    validate_hash,
)
from xv.urls import is_url, redact, url2pathname, url_problem

Fetch = Callable[[str], str]

FETCH_TIMEOUT = 30.0


def fetch_url(url: str) -> str:
    """Fetch a remote requirements file with the standard library (the default ``fetch``).

    Credentials in the URL (``https://user:pw@host/r.txt``) are sent as HTTP basic
    auth: urllib would otherwise take ``user:pw@host`` for a host name.
    """
    parts = urlsplit(url)
    headers = {}
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    import urllib.request  # here: its HTTP stack costs ~20 ms to import, rarely needed

    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
        charset = response.headers.get_content_charset() or "utf-8"
        data: bytes = response.read()
    return data.decode(charset)


@record
class Source:
    """A file or URL being read: how origins name it, where it is, and its identity for loops."""

    display: str
    location: str
    is_url: bool

    @property
    def key(self) -> str:
        return self.location if self.is_url else os.path.realpath(self.location)

    def resolve(self, value: str) -> Source:
        """The source that ``-r value`` written in this source refers to."""
        if value.startswith(("http://", "https://")):
            return Source(redact(check_url(value)), value, True)
        if value.startswith("file:"):
            path = url2pathname(urlsplit(check_url(value)).path)
            return Source(path, path, False)
        if self.is_url:
            url = check_url(urljoin(self.location, value))
            return Source(redact(url), url, is_url(url) and not url.startswith("file:"))
        display = os.path.normpath(os.path.join(os.path.dirname(self.display), value))
        return Source(display, os.path.join(os.path.dirname(self.location), value), False)

    def resolve_link(self, value: str) -> str:
        """A ``--find-links`` value: URLs as written, paths relative to this file (as uv)."""
        if is_url(value):
            return check_url(value)
        if self.is_url:
            return check_url(urljoin(self.location, value))
        base = os.path.dirname(self.location)
        return os.path.abspath(os.path.join(base, os.path.expanduser(value)))


def _describe(exc: BaseException) -> str:
    """A short reason for a failed read or fetch."""
    import urllib.error  # only reached after a failure

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


class _Parser:
    """Walks one include tree; not reusable."""

    def __init__(
        self, environ: Mapping[str, str], fetch: Fetch, working_dir: str, strict_env: bool
    ) -> None:
        self.environ = environ
        self.strict_env = strict_env
        self.fetch = fetch
        self.working_dir = working_dir
        self.requirements: list[ParsedRequirement] = []
        self.constraints: list[ParsedRequirement] = []
        self.options = OptionState()
        self.sources: list[str] = []
        self.stack: list[Source] = []

    def result(self) -> RequirementsFile:
        return RequirementsFile(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            options=self.options.freeze(),
            sources=tuple(dict.fromkeys(self.sources)),
        )

    def read(self, source: Source, origin: Origin | None) -> str:
        verb = "fetch" if source.is_url else "read"
        try:
            if source.is_url:
                return self.fetch(source.location)
            with open(source.location, "rb") as handle:
                return handle.read().decode("utf-8")
        except XvError:
            raise
        except (OSError, ValueError) as exc:
            if origin is None:
                reason = f"could not {verb} requirements file: {_describe(exc)}"
                raise RequirementFileError(reason, source.display) from exc
            reason = f"could not {verb} '{source.display}': {_describe(exc)}"
            raise RequirementFileError(reason, origin.file, origin.line) from exc

    def parse(
        self, source: Source, text: str | None, constraint: bool, origin: Origin | None
    ) -> None:
        keys = [entry.key for entry in self.stack]
        if source.key in keys and origin is not None:
            chain = [entry.display for entry in self.stack[keys.index(source.key) :]]
            chain.append(source.display)
            loop = " -> ".join(chain)
            raise IncludeLoopError(f"include loop: {loop}", origin.file, origin.line)
        content = self.read(source, origin) if text is None else text
        self.sources.append(source.display)
        self.stack.append(source)
        try:
            for line in logical_lines(content):
                origin_here = Origin(source.display, line.number)
                try:
                    self.handle(source, line, constraint, origin_here)
                except LineError as exc:
                    raise RequirementFileError(exc.reason, source.display, line.number) from None
        finally:
            self.stack.pop()

    def handle(self, source: Source, line: LogicalLine, constraint: bool, origin: Origin) -> None:
        if "\x00" in line.text:  # no name, version, path or URL holds one (the OS refuses it)
            raise LineError("the line contains a NUL byte")
        raw_spec, raw_options = split_requirement_line(line.text)
        raw_words = split_words(raw_options) if raw_options else []
        words = [self.expand(word) for word in raw_words]
        options = list(iter_options(words, raw_words))
        if not raw_spec:
            for option in options:
                self.option(source, option, constraint, origin, line.text)
            return
        hashes: list[str] = []
        for option in options:
            if option.name != "--hash":
                raise LineError(f"option '{option.spelling}' must be on its own line")
            assert option.value is not None
            hashes.append(validate_hash(option.value))
        spec = self.expand(raw_spec)
        self.check_missing_prefix(source, spec)
        parts = parse_spec(spec, self.working_dir)
        self.add(parts, False, tuple(hashes), constraint, origin, line.text, raw_spec)

    def expand(self, text: str) -> str:
        return expand_env(text, self.environ, strict=self.strict_env)

    def option(
        self, source: Source, option: Option, constraint: bool, origin: Origin, text: str
    ) -> None:
        name, value, state = option.name, option.value or "", self.options
        if name in FLAGS:
            state.flags.add(FLAGS[name])
        elif name in ("--requirement", "--constraint"):
            target = source.resolve(value)
            self.parse(target, None, constraint or name == "--constraint", origin)
        elif name == "--editable":
            parts = parse_editable(value, self.working_dir)
            self.add(parts, True, (), constraint, origin, text, option.raw_value or value)
        elif name == "--hash":
            raise LineError(f"option '{option.spelling}' must follow a requirement")
        elif name == "--index-url":
            state.index_url = check_url(value)
        elif name == "--extra-index-url":
            state.extra_index_urls.append(check_url(value))
        elif name == "--find-links":
            state.find_links.append(source.resolve_link(value))
        elif name == "--trusted-host":
            state.trusted_hosts.append(value)
        elif name == "--only-binary":
            merge_binary(value, state.only_binary, state.no_binary, option.spelling)
        elif name == "--no-binary":
            merge_binary(value, state.no_binary, state.only_binary, option.spelling)
        else:  # pragma: no cover - OPTIONS and this dispatch are kept in step
            raise AssertionError(name)

    def check_missing_prefix(self, source: Source, spec: str) -> None:
        """Catch ``base.txt`` written without ``-r``, which would be a package name."""
        if source.is_url or not spec.endswith((".txt", ".in")):
            return
        if os.path.isfile(os.path.join(os.path.dirname(source.location), spec)):
            raise LineError(f"'{spec}' looks like a requirements file; did you mean '-r {spec}'?")

    def add(
        self,
        parts: RequirementParts,
        editable: bool,
        hashes: tuple[str, ...],
        constraint: bool,
        origin: Origin,
        text: str,
        spec: str,
    ) -> None:
        if constraint and editable:
            raise LineError(f"editable requirement not allowed as a constraint: '{spec}'")
        if constraint and parts.name is None:
            raise LineError(f"unnamed requirement not allowed as a constraint: '{spec}'")
        item = ParsedRequirement(
            requirement=parts.requirement,
            name=parts.name,
            url=parts.url,
            editable=editable,
            hashes=hashes,
            constraint=constraint,
            origin=origin,
            text=text,
            spec=spec,
            extras=parts.extras,
            marker=parts.marker,
        )
        (self.constraints if constraint else self.requirements).append(item)


def _top_source(path: str) -> Source:
    if is_url(path) and (problem := url_problem(path)) is not None:
        raise RequirementFileError(f"invalid URL: {problem}", path)
    if path.startswith(("http://", "https://")):
        return Source(redact(path), path, True)
    if path.startswith("file:"):
        local = url2pathname(urlsplit(path).path)
        return Source(local, local, False)
    return Source(path, path, False)


def parse_file(
    path: str | os.PathLike[str],
    *,
    constraint: bool = False,
    environ: Mapping[str, str] | None = None,
    fetch: Fetch | None = None,
    working_dir: str | os.PathLike[str] | None = None,
    strict_env: bool = True,
) -> RequirementsFile:
    """Parse a requirements file (a path or an http(s) URL) and everything it includes.

    Origins name the file as given here; an included file is named by joining its ``-r`` value
    to the including file's directory as given (``sub/base.in``). Local requirement paths such as
    ``-e ./pkg`` count from ``working_dir`` (default: the current directory), like pip and uv;
    ``-r``/``-c`` and ``--find-links`` paths count from the including file's directory.
    ``constraint=True`` parses the file as if it were given with ``-c``. An unset or empty
    ``${VAR}`` is an error naming it, unless ``strict_env=False`` (then it stays as written,
    as in pip).
    """
    parser = _Parser(
        os.environ if environ is None else environ,
        fetch_url if fetch is None else fetch,
        os.fspath(working_dir) if working_dir is not None else os.getcwd(),
        strict_env,
    )
    parser.parse(_top_source(os.fspath(path)), None, constraint, None)
    return parser.result()


def parse_text(
    text: str,
    filename: str,
    *,
    constraint: bool = False,
    environ: Mapping[str, str] | None = None,
    fetch: Fetch | None = None,
    working_dir: str | os.PathLike[str] | None = None,
    strict_env: bool = True,
) -> RequirementsFile:
    """Parse ``text`` as if it were the content of ``filename`` (which need not exist).

    >>> result = parse_text("flask>=2  # web\\n", "requirements.in")
    >>> [(str(r.requirement), str(r.origin)) for r in result.requirements]
    [('flask>=2', 'requirements.in:1')]
    """
    parser = _Parser(
        os.environ if environ is None else environ,
        fetch_url if fetch is None else fetch,
        os.fspath(working_dir) if working_dir is not None else os.getcwd(),
        strict_env,
    )
    parser.parse(_top_source(filename), text, constraint, None)
    return parser.result()
