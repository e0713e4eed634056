"""Tests for xv.reqfile: every syntax item of pip requirements files, with exact errors."""

from __future__ import annotations

import base64
import dataclasses
import doctest
import http.server
import threading
import urllib.error
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from xv.errors import IncludeLoopError, InputError, RequirementFileError
from xv.reqfile import (
    FileOptions,
    Origin,
    ParsedRequirement,
    RequirementsFile,
    lines,
    model,
    options,
    parse_file,
    parse_text,
    parser,
    requirement,
)

SHA256 = "a" * 64
SHA384 = "b" * 96
SHA512 = "c" * 128


def _no_fetch(url: str) -> str:
    raise AssertionError(f"unexpected fetch of {url}")


def parse(
    text: str,
    *,
    filename: str = "requirements.in",
    environ: Mapping[str, str] | None = None,
    working_dir: str = "/w",
    constraint: bool = False,
) -> RequirementsFile:
    return parse_text(
        text,
        filename,
        environ={} if environ is None else environ,
        fetch=_no_fetch,
        working_dir=working_dir,
        constraint=constraint,
    )


def only(text: str, **kwargs: Any) -> ParsedRequirement:
    result = parse(text, **kwargs)
    assert len(result.requirements) == 1, result.requirements
    return result.requirements[0]


def error_of(text: str, **kwargs: Any) -> str:
    with pytest.raises(RequirementFileError) as info:
        parse(text, **kwargs)
    return str(info.value)


def _packaging_reason(text: str) -> str:
    """The first line of packaging's own message, which our errors quote."""
    with pytest.raises(InvalidRequirement) as info:
        Requirement(text)
    return str(info.value).splitlines()[0]


# --- requirement forms --------------------------------------------------------------------------

REQUIREMENT_FORMS = [
    # (line, name, requirement (compared as Requirement) or None, url, extras, marker)
    ("flask", "flask", "flask", None, set(), None),
    ("Flask_Login>=0.6,<1", "flask-login", "Flask_Login>=0.6,<1", None, set(), None),
    (
        "requests[socks,security] >= 2.0 ; python_version >= '3.8'",
        "requests",
        "requests[security,socks]>=2.0; python_version>='3.8'",
        None,
        {"socks", "security"},
        'python_version >= "3.8"',
    ),
    (
        "foo @ https://example.org/foo-1.0.tar.gz",
        "foo",
        "foo @ https://example.org/foo-1.0.tar.gz",
        "https://example.org/foo-1.0.tar.gz",
        set(),
        None,
    ),
    (
        "foo @ ./vendor/foo",
        "foo",
        "foo @ file:///w/vendor/foo",
        "file:///w/vendor/foo",
        set(),
        None,
    ),
    (
        "./dist/foo-1.0-py3-none-any.whl",
        "foo",
        "foo @ file:///w/dist/foo-1.0-py3-none-any.whl",
        "file:///w/dist/foo-1.0-py3-none-any.whl",
        set(),
        None,
    ),
    (
        "dist/Foo_Bar-2.0.tar.gz",
        "foo-bar",
        "foo-bar @ file:///w/dist/Foo_Bar-2.0.tar.gz",
        "file:///w/dist/Foo_Bar-2.0.tar.gz",
        set(),
        None,
    ),
    (
        "foo-1.0.tar.gz",
        "foo",
        "foo @ file:///w/foo-1.0.tar.gz",
        "file:///w/foo-1.0.tar.gz",
        set(),
        None,
    ),
    (
        "../other/pkg-1.0.tar.bz2",
        "pkg",
        "pkg @ file:///other/pkg-1.0.tar.bz2",
        "file:///other/pkg-1.0.tar.bz2",
        set(),
        None,
    ),
    (
        "/abs/wheels/bar-2.0-py3-none-any.whl",
        "bar",
        "bar @ file:///abs/wheels/bar-2.0-py3-none-any.whl",
        "file:///abs/wheels/bar-2.0-py3-none-any.whl",
        set(),
        None,
    ),
    (
        "https://host/foo-1.0.tar.gz",
        "foo",
        "foo @ https://host/foo-1.0.tar.gz",
        "https://host/foo-1.0.tar.gz",
        set(),
        None,
    ),
    (
        f"https://host/pkgs/foo-1.0-py3-none-any.whl#sha256={SHA256}",
        "foo",
        f"foo @ https://host/pkgs/foo-1.0-py3-none-any.whl#sha256={SHA256}",
        f"https://host/pkgs/foo-1.0-py3-none-any.whl#sha256={SHA256}",
        set(),
        None,
    ),
    (
        "file:///opt/wheels/bar-2.0-py3-none-any.whl",
        "bar",
        "bar @ file:///opt/wheels/bar-2.0-py3-none-any.whl",
        "file:///opt/wheels/bar-2.0-py3-none-any.whl",
        set(),
        None,
    ),
    (
        "git+https://github.com/org/proj.git@v1.0#egg=proj",
        "proj",
        "proj @ git+https://github.com/org/proj.git@v1.0#egg=proj",
        "git+https://github.com/org/proj.git@v1.0#egg=proj",
        set(),
        None,
    ),
    (
        "git+https://github.com/org/proj.git",
        None,
        None,
        "git+https://github.com/org/proj.git",
        set(),
        None,
    ),
    (
        "https://host/archive.zip#egg=Thing[extra1]",
        "thing",
        "Thing[extra1] @ https://host/archive.zip#egg=Thing[extra1]",
        "https://host/archive.zip#egg=Thing[extra1]",
        {"extra1"},
        None,
    ),
    ("./src/mypkg", None, None, "file:///w/src/mypkg", set(), None),
    ("./src/mypkg[dev,test]", None, None, "file:///w/src/mypkg", {"dev", "test"}, None),
    (
        ". ; python_version < '3.12'",
        None,
        None,
        "file:///w",
        set(),
        'python_version < "3.12"',
    ),
    (
        "https://host/foo-1.0.tar.gz ; sys_platform == 'linux'",
        "foo",
        "foo @ https://host/foo-1.0.tar.gz ; sys_platform == 'linux'",
        "https://host/foo-1.0.tar.gz",
        set(),
        'sys_platform == "linux"',
    ),
    (
        "https://host/x.tar.gz#egg=pkg",
        "pkg",
        "pkg @ https://host/x.tar.gz#egg=pkg",
        "https://host/x.tar.gz#egg=pkg",
        set(),
        None,
    ),
]


@pytest.mark.parametrize(
    ("line", "name", "req", "url", "extras", "marker"),
    REQUIREMENT_FORMS,
    ids=[form[0] for form in REQUIREMENT_FORMS],
)
def test_requirement_forms(
    line: str,
    name: str | None,
    req: str | None,
    url: str | None,
    extras: set[str],
    marker: str | None,
) -> None:
    item = only(line)
    assert item.name == name
    assert item.requirement == (Requirement(req) if req is not None else None)
    assert item.url == url
    assert item.extras == frozenset(extras)
    assert item.marker == (Marker(marker) if marker is not None else None)
    assert not item.editable
    assert not item.constraint
    assert item.hashes == ()
    assert item.origin == Origin("requirements.in", 1)
    assert item.text == line
    assert item.spec == line
    assert item.is_direct == (url is not None)


def test_local_path_of_file_url() -> None:
    item = only("./dist/foo-1.0-py3-none-any.whl")
    assert item.local_path == Path("/w/dist/foo-1.0-py3-none-any.whl")
    assert only("https://host/foo-1.0.tar.gz").local_path is None
    assert only("flask").local_path is None


# --- editables ----------------------------------------------------------------------------------

EDITABLE_FORMS = [
    # (line, spec, name, url, extras)
    ("-e ./pkg", "./pkg", None, "file:///w/pkg", set()),
    ("-e./pkg", "./pkg", None, "file:///w/pkg", set()),
    ("-e=./pkg", "./pkg", None, "file:///w/pkg", set()),
    ("--editable ./pkg", "./pkg", None, "file:///w/pkg", set()),
    ("--editable=./pkg", "./pkg", None, "file:///w/pkg", set()),
    ("-e .[dev]", ".[dev]", None, "file:///w", {"dev"}),
    ("-e ../sibling", "../sibling", None, "file:///sibling", set()),
    (
        "-e git+https://github.com/org/proj.git#egg=proj",
        "git+https://github.com/org/proj.git#egg=proj",
        "proj",
        "git+https://github.com/org/proj.git#egg=proj",
        set(),
    ),
    (
        "-e git+ssh://git@github.com/org/proj.git@main",
        "git+ssh://git@github.com/org/proj.git@main",
        None,
        "git+ssh://git@github.com/org/proj.git@main",
        set(),
    ),
    (
        "-e file:///src/proj#egg=proj",
        "file:///src/proj#egg=proj",
        "proj",
        "file:///src/proj#egg=proj",
        set(),
    ),
    ("-e 'foo @ ./proj'", "foo @ ./proj", "foo", "file:///w/proj", set()),
]


@pytest.mark.parametrize(
    ("line", "spec", "name", "url", "extras"),
    EDITABLE_FORMS,
    ids=[form[0] for form in EDITABLE_FORMS],
)
def test_editable_forms(line: str, spec: str, name: str | None, url: str, extras: set[str]) -> None:
    item = only(line)
    assert item.editable
    assert item.spec == spec
    assert item.text == line
    assert item.name == name
    assert item.url == url
    assert item.extras == frozenset(extras)
    if name is None:
        assert item.requirement is None
    else:
        assert item.requirement is not None and item.requirement.url == url


def test_editable_bare_directory_name_exists(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    item = only("-e pkg", working_dir=str(tmp_path))
    assert item.url == (tmp_path / "pkg").as_uri()


# --- comments, blank lines, continuations --------------------------------------------------------

LAYOUTS = [
    # (text, [(line, spec)])
    ("# comment\nflask  # web\n\n   \nrequests\n", [(2, "flask"), (5, "requests")]),
    ("flask\t# tab comment\n", [(1, "flask")]),
    ("   flask   \n", [(1, "flask")]),
    ("flask \\\n  >=2\n", [(1, "flask   >=2")]),
    ("flask\\\n>=2\\\n,<3\nrequests\n", [(1, "flask>=2,<3"), (4, "requests")]),
    ("foo #c1\n#c2 \\\nbar\n", [(1, "foo"), (3, "bar")]),
    ("foo \\\n# comment\nbar\n", [(1, "foo"), (3, "bar")]),
    ("foo\\", [(1, "foo")]),
    ("\ufeffflask\n", [(1, "flask")]),
    ("flask\r\nrequests\r\n", [(1, "flask"), (2, "requests")]),
    ("pkg @ https://x/y.tar.gz#egg=pkg  # trailing\n", [(1, "pkg @ https://x/y.tar.gz#egg=pkg")]),
    ("\n\n\n# only comments\n", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), LAYOUTS, ids=[repr(t) for t, _ in LAYOUTS])
def test_comments_blank_lines_and_continuations(text: str, expected: list[tuple[int, str]]) -> None:
    result = parse(text)
    assert [(item.origin.line, item.spec) for item in result.requirements] == expected


def test_continued_hashes_keep_the_first_line() -> None:
    text = f"foo==1.0 \\\n    --hash=sha256:{SHA256} \\\n    --hash sha384:{SHA384}\nbar\n"
    first, second = parse(text).requirements
    assert first.origin == Origin("requirements.in", 1)
    assert first.hashes == (f"sha256:{SHA256}", f"sha384:{SHA384}")
    assert first.spec == "foo==1.0"
    assert second.origin == Origin("requirements.in", 4)


# --- hashes -------------------------------------------------------------------------------------

HASH_FORMS = [
    (f"foo==1 --hash=sha256:{SHA256}", (f"sha256:{SHA256}",)),
    (f"foo==1 --hash sha256:{SHA256}", (f"sha256:{SHA256}",)),
    (f"foo==1 --hash=sha256:{SHA256.upper()}", (f"sha256:{SHA256}",)),
    (f"foo==1 --hash=sha384:{SHA384}", (f"sha384:{SHA384}",)),
    (f"foo==1 --hash=sha512:{SHA512}", (f"sha512:{SHA512}",)),
    (
        f"foo==1 --hash=sha256:{SHA256} --hash=sha512:{SHA512}",
        (f"sha256:{SHA256}", f"sha512:{SHA512}"),
    ),
    (
        f"./dist/foo-1.0-py3-none-any.whl --hash=sha256:{SHA256}",
        (f"sha256:{SHA256}",),
    ),
    (
        f"foo==1 ; python_version >= '3' --hash=sha256:{SHA256}",
        (f"sha256:{SHA256}",),
    ),
]


@pytest.mark.parametrize(("line", "hashes"), HASH_FORMS, ids=[h[0][:40] for h in HASH_FORMS])
def test_hash_forms(line: str, hashes: tuple[str, ...]) -> None:
    item = only(line)
    assert item.hashes == hashes
    assert item.name == "foo"
    assert item.text == line


# --- global options -----------------------------------------------------------------------------

OPTION_FORMS: list[tuple[str, dict[str, Any]]] = [
    ("-i https://a/simple", {"index_url": "https://a/simple"}),
    ("-ihttps://a/simple", {"index_url": "https://a/simple"}),
    ("-i=https://a/simple", {"index_url": "https://a/simple"}),
    ("--index-url https://a/simple", {"index_url": "https://a/simple"}),
    ("--index-url=https://a/simple", {"index_url": "https://a/simple"}),
    ("--index-url 'https://a/simple'", {"index_url": "https://a/simple"}),
    ("-i https://a/simple\n-i https://b/simple", {"index_url": "https://b/simple"}),
    (
        "--extra-index-url https://b/simple\n--extra-index-url=https://c/simple\n"
        "--extra-index-url https://b/simple",
        {"extra_index_urls": ("https://b/simple", "https://c/simple")},
    ),
    ("--no-index", {"no_index": True}),
    ("--trusted-host h1\n--trusted-host=h2:8080", {"trusted_hosts": ("h1", "h2:8080")}),
    ("--pre", {"pre": True}),
    ("--prefer-binary", {"prefer_binary": True}),
    ("--require-hashes", {"require_hashes": True}),
    ("-f https://x/links", {"find_links": ("https://x/links",)}),
    ("-fhttps://x/links", {"find_links": ("https://x/links",)}),
    ("--find-links=https://x/links", {"find_links": ("https://x/links",)}),
    ("--find-links file:///opt/links", {"find_links": ("file:///opt/links",)}),
    ("-f ./wheels\n-f /abs/links\n-f ./wheels", {"find_links": ("/proj/wheels", "/abs/links")}),
    ("--find-links=../shared", {"find_links": ("/shared",)}),
    (
        "--no-index --find-links ./wheels --pre",
        {"no_index": True, "find_links": ("/proj/wheels",), "pre": True},
    ),
    ("--only-binary :all:", {"only_binary": {":all:"}}),
    ("--only-binary=foo,Bar_Baz", {"only_binary": {"foo", "bar-baz"}}),
    ("--only-binary :all:\n--only-binary :none:", {"only_binary": set()}),
    ("--only-binary :all:,:none:,foo", {"only_binary": {"foo"}}),
    ("--only-binary :all:\n--no-binary foo", {"only_binary": {":all:"}, "no_binary": {"foo"}}),
    ("--no-binary :all:\n--only-binary foo", {"only_binary": {"foo"}, "no_binary": {":all:"}}),
    ("--only-binary foo\n--no-binary foo", {"only_binary": set(), "no_binary": {"foo"}}),
    ("--no-binary :all:\n--only-binary :all:", {"only_binary": {":all:"}, "no_binary": set()}),
    ("--no-binary :none:", {"no_binary": set()}),
]


@pytest.mark.parametrize(("text", "expected"), OPTION_FORMS, ids=[o[0] for o in OPTION_FORMS])
def test_option_forms(text: str, expected: dict[str, Any]) -> None:
    result = parse(text, filename="/proj/requirements.in")
    fields: dict[str, Any] = {
        key: frozenset(value) if key in ("only_binary", "no_binary") else value
        for key, value in expected.items()
    }
    assert result.options == FileOptions(**fields)
    assert result.requirements == ()


def test_options_and_requirements_together() -> None:
    result = parse("-i https://a/simple\n--pre\nflask\n")
    assert result.options.index_url == "https://a/simple"
    assert result.options.pre
    assert [item.name for item in result.requirements] == ["flask"]


# --- environment variables ----------------------------------------------------------------------

ENV = {"INDEX": "https://u:p@h/simple", "TOKEN": "s3cr3t", "EMPTY": "", "lower": "x"}

ENV_FORMS = [
    ("-i ${INDEX}", "index_url", "https://u:p@h/simple"),
    ("--index-url=${INDEX}", "index_url", "https://u:p@h/simple"),
    ("-i $INDEX", "index_url", "$INDEX"),
    ("-i https://h/${lower}", "index_url", "https://h/${lower}"),
    (
        "--extra-index-url https://${TOKEN}@h/simple",
        "extra_index_urls",
        ("https://s3cr3t@h/simple",),
    ),
]


@pytest.mark.parametrize(("text", "field", "value"), ENV_FORMS, ids=[e[0] for e in ENV_FORMS])
def test_env_expansion_in_options(text: str, field: str, value: object) -> None:
    assert getattr(parse(text, environ=ENV).options, field) == value


def test_env_expansion_in_requirements_keeps_text_unexpanded() -> None:
    line = "foo @ https://${TOKEN}@host/foo-1.0.tar.gz  # private"
    item = only(line, environ=ENV)
    assert item.url == "https://s3cr3t@host/foo-1.0.tar.gz"
    assert item.text == "foo @ https://${TOKEN}@host/foo-1.0.tar.gz"
    assert item.spec == "foo @ https://${TOKEN}@host/foo-1.0.tar.gz"
    assert "s3cr3t" not in item.text


def test_env_expansion_in_editable() -> None:
    item = only("-e ${SRC}/pkg", environ={"SRC": "/src"})
    assert item.url == "file:///src/pkg"
    assert item.spec == "${SRC}/pkg"


# pip leaves an unset ${VAR} as written, and the index or file it names is then "not found";
# xv names the variable and the line instead (issue 10, defect 10).
UNSET_VARS = [
    ("-i ${UNSET}/simple", "environment variable UNSET is not set"),
    ("--extra-index-url https://${TOKEN}@h/${UNSET}", "environment variable UNSET is not set"),
    ("-f ${UNSET}/wheels", "environment variable UNSET is not set"),
    ("-r ${UNSET}/base.in", "environment variable UNSET is not set"),
    ("-c ${UNSET}.txt", "environment variable UNSET is not set"),
    ("--trusted-host ${UNSET}", "environment variable UNSET is not set"),
    ("-i https://h/${EMPTY}", "environment variable EMPTY is empty"),
    ("foo @ https://${UNSET}@h/foo-1.0.tar.gz", "environment variable UNSET is not set"),
    ("-e ${UNSET}/pkg", "environment variable UNSET is not set"),
]


@pytest.mark.parametrize(("text", "reason"), UNSET_VARS, ids=[e[0] for e in UNSET_VARS])
def test_an_unset_variable_is_an_error_naming_it_and_the_line(text: str, reason: str) -> None:
    with pytest.raises(RequirementFileError) as info:
        parse(f"flask\n{text}\n", environ=ENV)
    assert str(info.value) == f"requirements.in:2: {reason}"


def test_variables_in_comments_and_lower_case_ones_are_left_alone() -> None:
    result = parse("flask  # ${UNSET}\n-i https://h/${lower}\n", environ={})
    assert result.options.index_url == "https://h/${lower}"


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XV_TEST_INDEX", "https://env/simple")
    result = parse_text("-i ${XV_TEST_INDEX}", "r.in", fetch=_no_fetch)
    assert result.options.index_url == "https://env/simple"


# --- errors with exact messages -----------------------------------------------------------------

ERRORS = [
    ("--foo", "requirements.in:1: unknown option '--foo'"),
    ("--foo=bar", "requirements.in:1: unknown option '--foo'"),
    ("-x", "requirements.in:1: unknown option '-x'"),
    ("flask --foo", "requirements.in:1: unknown option '--foo'"),
    ("-r", "requirements.in:1: option '-r' requires a value"),
    ("--requirement", "requirements.in:1: option '--requirement' requires a value"),
    ("--requirement=", "requirements.in:1: option '--requirement' requires a value"),
    ("--index-url", "requirements.in:1: option '--index-url' requires a value"),
    ("-e", "requirements.in:1: option '-e' requires a value"),
    ("--pre=yes", "requirements.in:1: option '--pre' takes no value"),
    ("--no-index=1", "requirements.in:1: option '--no-index' takes no value"),
    ("flask --pre", "requirements.in:1: option '--pre' must be on its own line"),
    ("flask -r base.in", "requirements.in:1: option '-r' must be on its own line"),
    ("flask -e ./x", "requirements.in:1: option '-e' must be on its own line"),
    (f"--hash=sha256:{SHA256}", "requirements.in:1: option '--hash' must follow a requirement"),
    (
        f"-e ./pkg --hash=sha256:{SHA256}",
        "requirements.in:1: option '--hash' must follow a requirement",
    ),
    ("flask --hash", "requirements.in:1: option '--hash' requires a value"),
    (
        "flask --hash=md5:" + "0" * 32,
        "requirements.in:1: invalid hash 'md5:" + "0" * 32 + "': unsupported algorithm 'md5'"
        " (use sha256, sha384 or sha512)",
    ),
    (
        "flask --hash=sha256:abc",
        "requirements.in:1: invalid hash 'sha256:abc': expected 64 hexadecimal digits",
    ),
    (
        "flask --hash=sha512:" + "g" * 128,
        "requirements.in:1: invalid hash 'sha512:"
        + "g" * 128
        + "': expected 128 hexadecimal digits",
    ),
    (
        "flask --hash=deadbeef",
        "requirements.in:1: invalid hash 'deadbeef': expected <algorithm>:<hex digest>",
    ),
    ("-r base.in extra", "requirements.in:1: unexpected argument 'extra'"),
    ("-e foo @ ./proj", "requirements.in:1: unexpected argument '@'"),
    ("-i 'https://a/simple", "requirements.in:1: invalid quoting: No closing quotation"),
    (
        "--only-binary foo!bar",
        "requirements.in:1: invalid package name 'foo!bar' in --only-binary",
    ),
    ("--no-binary a,,b", "requirements.in:1: invalid package name '' in --no-binary"),
    (
        "-e requests",
        "requirements.in:1: invalid editable requirement 'requests':"
        " expected a local directory or a VCS URL",
    ),
    (
        "-e https://host/foo-1.0.tar.gz",
        "requirements.in:1: invalid editable requirement 'https://host/foo-1.0.tar.gz':"
        " expected a local directory or a VCS URL",
    ),
    (
        "-e ./dist/foo-1.0-py3-none-any.whl",
        "requirements.in:1: invalid editable requirement './dist/foo-1.0-py3-none-any.whl':"
        " expected a local directory or a VCS URL",
    ),
    (
        "https://host/x.tar.gz#egg=bad!name",
        "requirements.in:1: invalid egg fragment 'bad!name' in 'https://host/x.tar.gz#egg=bad!name'",
    ),
]


# Found by fuzzing (issue 10, defect 11): each was a traceback.
ERRORS += [
    ("foo @ http://[bad", "requirements.in:1: invalid URL 'http://[bad': Invalid IPv6 URL"),
    (
        "http://[bad/foo-1.0.tar.gz",
        "requirements.in:1: invalid URL 'http://[bad/foo-1.0.tar.gz': Invalid IPv6 URL",
    ),  # fmt: skip
    ("-e git+https://[x/y", "requirements.in:1: invalid URL 'git+https://[x/y': Invalid IPv6 URL"),
    ("-f http://[x", "requirements.in:1: invalid URL 'http://[x': Invalid IPv6 URL"),
    (
        "-r http://[bad/x.txt",
        "requirements.in:1: invalid URL 'http://[bad/x.txt': Invalid IPv6 URL",
    ),
    (
        "-i http://h:99999/simple",
        "requirements.in:1: invalid URL 'http://h:99999/simple': Port out of range 0-65535",
    ),  # fmt: skip
    (
        "--extra-index-url https://h:x/s",
        "requirements.in:1: invalid URL 'https://h:x/s': Port could not be cast to integer value as 'x'",
    ),  # fmt: skip
    ("-i https:///simple", "requirements.in:1: invalid URL 'https:///simple': no host"),
    (
        'foo; python_full_version ~= "3.x"',
        "requirements.in:1: invalid marker 'python_full_version ~= \"3.x\"':"
        " ~= '3.x' is not a valid version comparison",
    ),
    (
        "./pkg ; os_name ~= 'posix'",
        "requirements.in:1: invalid marker 'os_name ~= \"posix\"':"
        " ~= 'posix' is not a valid version comparison",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_error_messages(text: str, message: str) -> None:
    assert error_of(text) == message


def test_invalid_requirement_names_file_line_and_packaging_reason() -> None:
    text = "# header\n\nflask\n\\\n\n# more\nflask>>2\n"
    message = error_of(text)
    reason = _packaging_reason("flask>>2")
    assert reason.startswith("Expected ")
    assert message == f"requirements.in:7: invalid requirement 'flask>>2': {reason}"


@pytest.mark.parametrize("text", ["a#b", "foo==", "foo bar", "flask\n!!!"])
def test_invalid_requirements_quote_packaging(text: str) -> None:
    bad = text.splitlines()[-1]
    number = len(text.splitlines())
    reason = _packaging_reason(bad)
    assert error_of(text) == f"requirements.in:{number}: invalid requirement '{bad}': {reason}"


def test_invalid_marker_on_a_path() -> None:
    with pytest.raises(InvalidMarker) as info:
        Marker("python_version >>> '3'")
    reason = str(info.value).splitlines()[0]
    expected = f"requirements.in:1: invalid marker 'python_version >>> '3'': {reason}"
    assert error_of("./pkg ; python_version >>> '3'") == expected


def test_error_fields_and_exit_code() -> None:
    with pytest.raises(RequirementFileError) as info:
        parse("flask\n--foo\n", filename="sub/dev.in")
    error = info.value
    assert (error.file, error.line, error.reason) == ("sub/dev.in", 2, "unknown option '--foo'")
    assert isinstance(error, InputError) and error.exit_code == 2


# --- includes -----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "requirements.in", "-r sub/base.in\nflask\n-c constraints.txt\n")
    write(tmp_path / "sub/base.in", "requests\n-r ../common.in\n-f ./wheels\n")
    write(tmp_path / "common.in", "six\n")
    write(tmp_path / "constraints.txt", "urllib3<2\n-r more-constraints.txt\n")
    write(tmp_path / "more-constraints.txt", "idna<3\n")
    return tmp_path


def test_nested_includes_keep_origins_as_referred_to(project: Path) -> None:
    result = parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert [(item.name, str(item.origin)) for item in result.requirements] == [
        ("requests", "sub/base.in:1"),
        ("six", "common.in:1"),
        ("flask", "requirements.in:2"),
    ]
    assert [(item.name, str(item.origin), item.constraint) for item in result.constraints] == [
        ("urllib3", "constraints.txt:1", True),
        ("idna", "more-constraints.txt:1", True),
    ]
    assert not any(item.constraint for item in result.requirements)
    assert result.sources == (
        "requirements.in",
        "sub/base.in",
        "common.in",
        "constraints.txt",
        "more-constraints.txt",
    )
    assert result.options.find_links == (str(project / "sub" / "wheels"),)


def test_includes_resolve_from_the_including_file_not_cwd(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    top = str(project / "requirements.in")
    result = parse_file(top, environ={}, fetch=_no_fetch)
    assert [str(item.origin) for item in result.requirements] == [
        f"{project}/sub/base.in:1",
        f"{project}/common.in:1",
        f"{top}:2",
    ]
    assert parse_file(Path(top), environ={}, fetch=_no_fetch) == result


INCLUDE_FORMS = [
    "-r base.in",
    "-rbase.in",
    "-r=base.in",
    "--requirement base.in",
    "--requirement=base.in",
    "-r ./base.in",
    "-r ${DIR}/base.in",
    "-r 'base.in'",
]


@pytest.mark.parametrize("line", INCLUDE_FORMS)
def test_requirement_include_forms(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "base.in", "six\n")
    write(tmp_path / "requirements.in", line + "\n")
    result = parse_file("requirements.in", environ={"DIR": "."}, fetch=_no_fetch)
    assert [(item.name, str(item.origin)) for item in result.requirements] == [("six", "base.in:1")]
    assert result.constraints == ()


CONSTRAINT_FORMS = ["-c c.txt", "-cc.txt", "--constraint c.txt", "--constraint=c.txt"]


@pytest.mark.parametrize("line", CONSTRAINT_FORMS)
def test_constraint_include_forms(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "c.txt", "six<2\n./dist/foo-1.0-py3-none-any.whl\n")
    write(tmp_path / "requirements.in", line + "\nsix\n")
    result = parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert [item.name for item in result.requirements] == ["six"]
    assert [(item.name, item.constraint) for item in result.constraints] == [
        ("six", True),
        ("foo", True),
    ]


def test_parse_file_as_constraint(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "six<2\n")
    result = parse_file(path, constraint=True, environ={}, fetch=_no_fetch)
    assert result.requirements == ()
    assert [item.name for item in result.constraints] == ["six"]


def test_file_url_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    base = write(tmp_path / "deep/base.in", "six\n")
    write(tmp_path / "requirements.in", f"-r {base.as_uri()}\n")
    result = parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert [str(item.origin) for item in result.requirements] == [f"{base}:1"]


def test_same_file_twice_is_not_a_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "common.in", "six\n")
    write(tmp_path / "a.in", "-r common.in\n")
    write(tmp_path / "requirements.in", "-r common.in\n-r a.in\n")
    result = parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert [str(item.origin) for item in result.requirements] == ["common.in:1", "common.in:1"]
    assert result.sources == ("requirements.in", "common.in", "a.in")


LOOPS = [
    ({"a.in": "-r a.in\n"}, "a.in:1: include loop: a.in -> a.in"),
    ({"a.in": "-r ./a.in\n"}, "a.in:1: include loop: a.in -> a.in"),
    (
        {"a.in": "-r b.in\n", "b.in": "flask\n-r a.in\n"},
        "b.in:2: include loop: a.in -> b.in -> a.in",
    ),
    (
        {"a.in": "six\n-c sub/b.in\n", "sub/b.in": "-r ../c.in\n", "c.in": "\n\n-c sub/b.in\n"},
        "c.in:3: include loop: sub/b.in -> c.in -> sub/b.in",
    ),
]


@pytest.mark.parametrize(("files", "message"), LOOPS, ids=[m for _, m in LOOPS])
def test_include_loops(
    files: dict[str, str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(IncludeLoopError) as info:
        parse_file("a.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == message


def test_missing_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "requirements.in", "flask\n-r sub/missing.in\n")
    with pytest.raises(RequirementFileError) as info:
        parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == (
        "requirements.in:2: could not read 'sub/missing.in': No such file or directory"
    )


def test_include_of_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    write(tmp_path / "requirements.in", "-c sub\n")
    with pytest.raises(RequirementFileError) as info:
        parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == "requirements.in:1: could not read 'sub': Is a directory"


def test_missing_top_level_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RequirementFileError) as info:
        parse_file("nope.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == "nope.in: could not read requirements file: No such file or directory"
    assert (info.value.file, info.value.line) == ("nope.in", None)


def test_undecodable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.in").write_bytes(b"flask\n\xff\n")
    with pytest.raises(RequirementFileError) as info:
        parse_file("bad.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == (
        "bad.in: could not read requirements file: not valid UTF-8 (invalid start byte at byte 6)"
    )


def test_missing_r_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "base.txt", "six\n")
    write(tmp_path / "requirements.in", "base.txt\n")
    with pytest.raises(RequirementFileError) as info:
        parse_file("requirements.in", environ={}, fetch=_no_fetch)
    assert str(info.value) == (
        "requirements.in:1: 'base.txt' looks like a requirements file; did you mean '-r base.txt'?"
    )


CONSTRAINT_ERRORS = [
    ("-e ./pkg", "c.txt:1: editable requirement not allowed as a constraint: './pkg'"),
    ("./src/pkg", "c.txt:1: unnamed requirement not allowed as a constraint: './src/pkg'"),
    (
        "git+https://h/x.git",
        "c.txt:1: unnamed requirement not allowed as a constraint: 'git+https://h/x.git'",
    ),
]


@pytest.mark.parametrize(("line", "message"), CONSTRAINT_ERRORS)
def test_constraint_errors(line: str, message: str) -> None:
    assert error_of(line, filename="c.txt", constraint=True) == message


# --- URL includes -------------------------------------------------------------------------------

REMOTE = {
    "https://h/reqs/main.txt": "-r base.txt\n-c https://other/c.txt\nflask\n-f ./links\n",
    "https://h/reqs/base.txt": "requests\n-r ../shared/common.txt\n",
    "https://h/shared/common.txt": "six\n",
    "https://other/c.txt": "idna<3\n",
}


def test_url_includes_resolve_against_the_url() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> str:
        fetched.append(url)
        return REMOTE[url]

    result = parse_file("https://h/reqs/main.txt", environ={}, fetch=fetch)
    assert [(item.name, str(item.origin)) for item in result.requirements] == [
        ("requests", "https://h/reqs/base.txt:1"),
        ("six", "https://h/shared/common.txt:1"),
        ("flask", "https://h/reqs/main.txt:3"),
    ]
    assert [str(item.origin) for item in result.constraints] == ["https://other/c.txt:1"]
    assert result.options.find_links == ("https://h/reqs/links",)
    assert fetched == list(REMOTE)
    assert result.sources == tuple(REMOTE)


def test_local_file_includes_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "requirements.in", "-r https://h/reqs/base.txt\n")
    result = parse_file("requirements.in", environ={}, fetch=REMOTE.__getitem__)
    assert [str(item.origin) for item in result.requirements] == [
        "https://h/reqs/base.txt:1",
        "https://h/shared/common.txt:1",
    ]


def test_url_loop_is_detected() -> None:
    pages = {"https://h/a.txt": "-r b.txt\n", "https://h/b.txt": "-r https://h/a.txt\n"}
    with pytest.raises(IncludeLoopError) as info:
        parse_file("https://h/a.txt", environ={}, fetch=pages.__getitem__)
    assert str(info.value) == (
        "https://h/b.txt:1: include loop: https://h/a.txt -> https://h/b.txt -> https://h/a.txt"
    )


def test_url_credentials_are_redacted_in_origins_but_used_to_fetch() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> str:
        fetched.append(url)
        return {"https://u:pw@h/a.txt": "-r b.txt\n", "https://u:pw@h/b.txt": "six\n"}[url]

    text = "-r https://${USER}:${PASSWORD}@h/a.txt\n"
    environ = {"USER": "u", "PASSWORD": "pw"}
    result = parse_text(text, "requirements.in", environ=environ, fetch=fetch)
    assert fetched == ["https://u:pw@h/a.txt", "https://u:pw@h/b.txt"]
    assert [str(item.origin) for item in result.requirements] == ["https://u:****@h/b.txt:1"]
    assert result.sources == ("requirements.in", "https://u:****@h/a.txt", "https://u:****@h/b.txt")


FETCH_FAILURES = [
    (urllib.error.URLError("boom"), "boom"),
    (
        urllib.error.HTTPError("https://h/x.txt", 404, "Not Found", None, None),  # type: ignore[arg-type]
        "HTTP 404 Not Found",
    ),
    (TimeoutError("timed out"), "timed out"),
]


@pytest.mark.parametrize(("exc", "reason"), FETCH_FAILURES, ids=[r for _, r in FETCH_FAILURES])
def test_fetch_failures(exc: Exception, reason: str) -> None:
    def fetch(url: str) -> str:
        raise exc

    with pytest.raises(RequirementFileError) as info:
        parse_text("flask\n-r https://h/x.txt\n", "requirements.in", environ={}, fetch=fetch)
    assert str(info.value) == f"requirements.in:2: could not fetch 'https://h/x.txt': {reason}"
    with pytest.raises(RequirementFileError) as info:
        parse_file("https://h/x.txt", environ={}, fetch=fetch)
    assert str(info.value) == f"https://h/x.txt: could not fetch requirements file: {reason}"


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_default_fetch_over_local_http(http_root: tuple[str, Path]) -> None:
    base, root = http_root
    write(root / "reqs/main.txt", "-r base.txt\nflask\n")
    write(root / "reqs/base.txt", "six\n")
    result = parse_file(f"{base}/reqs/main.txt", environ={})
    assert [(item.name, str(item.origin)) for item in result.requirements] == [
        ("six", f"{base}/reqs/base.txt:1"),
        ("flask", f"{base}/reqs/main.txt:2"),
    ]
    with pytest.raises(RequirementFileError) as info:
        parse_file(f"{base}/reqs/missing.txt", environ={})
    assert str(info.value) == (
        f"{base}/reqs/missing.txt: could not fetch requirements file: HTTP 404 File not found"
    )


# --- value types and internals ------------------------------------------------------------------


def test_origin_renders_and_sorts() -> None:
    assert str(Origin("sub/base.in", 3)) == "sub/base.in:3"
    assert sorted([Origin("b", 1), Origin("a", 2), Origin("a", 1)]) == [
        Origin("a", 1),
        Origin("a", 2),
        Origin("b", 1),
    ]


def test_results_are_frozen_and_hashable() -> None:
    result = parse("flask\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.requirements[0].__setattr__("name", "django")
    assert hash(result.options) == hash(FileOptions())
    again = parse("flask\n")
    assert again == result and hash(again.requirements) == hash(result.requirements)


@pytest.mark.parametrize("module", [lines, model, options, parser, requirement])
def test_doctests(module: object) -> None:
    outcome = doctest.testmod(module)  # type: ignore[arg-type]
    assert outcome.failed == 0
    assert outcome.attempted > 0 or module in (model, options)


# --- properties ---------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}([-_.][A-Za-z0-9]{1,4})?", fullmatch=True)
noise = st.sampled_from(["", "   ", "# note", "  # indented note", "\t"])


@given(st.lists(st.tuples(names, noise, st.booleans()), max_size=12))
def test_names_and_line_numbers_survive_noise(rows: list[tuple[str, str, bool]]) -> None:
    text_lines: list[str] = []
    expected: list[tuple[str, int]] = []
    for name, filler, trailing in rows:
        text_lines.append(filler)
        text_lines.append(f"{name}>=1.0  # why" if trailing else name)
        expected.append((name, len(text_lines)))
    result = parse("\n".join(text_lines))
    assert [
        (item.spec.split(">=")[0], item.origin.line) for item in result.requirements
    ] == expected
    assert [item.name for item in result.requirements] == [
        canonicalize_name(name) for name, _ in expected
    ]


@given(st.sets(st.integers(min_value=0, max_value=6)), st.sampled_from(["\n", "\r\n"]))
def test_continuations_do_not_change_meaning(breaks: set[int], newline: str) -> None:
    words = ["requests[socks]", ">=2.0,", "<3", ";", "python_version", ">=", "'3.8'"]
    text = ""
    for index, word in enumerate(words):
        text += word + " "
        if index in breaks:
            text += "\\" + newline + "   "
    text += newline + "six" + newline
    first, second = parse(text).requirements
    assert first.requirement == Requirement("requests[socks]>=2.0,<3; python_version>='3.8'")
    assert first.origin.line == 1
    assert second.origin.line == 2 + len(breaks & set(range(len(words))))


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_env_expansion_leaves_text_without_dollar_alone(text: str) -> None:
    assert lines.expand_env(text, {"A": "b"}) == text


def test_remote_file_with_credentials_in_the_url_uses_basic_auth(tmp_path: Path) -> None:
    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == expected
            body = b"flask==2.0\n" if ok else b"denied\n"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://user:p%40ss@127.0.0.1:{server.server_address[1]}/r.txt"
        result = parse_file(url, environ={})
    finally:
        server.shutdown()
        server.server_close()
    assert [str(r.requirement) for r in result.requirements] == ["flask==2.0"]
    assert "p%40ss" not in str(result.requirements[0].origin)


@pytest.mark.parametrize(
    "spec",
    ["Foo_Bar==1.0", "foo == 1.0rc1", "foo==2.0.post1.dev3", "a.b-c==10.2b4", "foo==0"],
)
def test_a_plain_pin_is_parsed_when_read_as_packaging_parses_it(spec: str) -> None:
    import pickle

    item = parse_text(f"{spec} --hash=sha256:{SHA256}\n", "r.txt").requirements[0]
    assert isinstance(item.__dict__["_requirement"], model.PlainPin)  # not parsed yet
    expected = Requirement(spec)
    assert item.name == canonicalize_name(expected.name) and item.url is None
    assert item.pinned == requirement.pinned_version(expected.specifier)
    assert item.extras == frozenset() and item.marker is None
    copy = pickle.loads(pickle.dumps(item))
    assert item.requirement == expected and str(item.requirement) == str(expected)
    assert copy == item and hash(copy) == hash(item)


@pytest.mark.parametrize(
    "spec",
    ["foo[x]==1", "foo==1 ; python_version > '3'", "foo==1.*", "foo===1", "foo==1!2",
     "foo==1+local", "foo>=1", "foo==1,!=2", "foo==v1", "foo @ https://h/foo-1-py3-none-any.whl"],
)  # fmt: skip
def test_any_other_requirement_goes_through_packaging(spec: str) -> None:
    item = parse_text(f"{spec}\n", "r.txt").requirements[0]
    assert not isinstance(item.__dict__["_requirement"], model.PlainPin)
    assert item.requirement == Requirement(spec)
    assert item.pinned == requirement.pinned_version(Requirement(spec).specifier)
