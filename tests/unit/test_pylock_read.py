"""Reading PEP 751 locks (xv.pylock.read): the PEP's own example, and one clear error naming
the file, the line and the key for every kind of malformed file."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from xv.errors import InputError
from xv.pylock import toml
from xv.pylock.read import load, select

# The example of PEP 751 ("Example" section), as the specification gives it.
PEP_EXAMPLE = """\
lock-version = '1.0'
environments = ["sys_platform == 'win32'", "sys_platform == 'linux'"]
requires-python = '==3.12'
created-by = 'mousebender'

[[packages]]
name = 'attrs'
version = '25.1.0'
requires-python = '>=3.8'

    [[packages.wheels]]
    name = 'attrs-25.1.0-py3-none-any.whl'
    upload-time = 2025-01-25T11:30:10.164985+00:00
    url = 'https://files.pythonhosted.org/packages/fc/30/d4986a882011f9df997a55e6becd864812ccfcd821d64aac8570ee39f719/attrs-25.1.0-py3-none-any.whl'
    size = 63152
    hashes = {sha256 = 'c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a'}

    [[packages.attestation-identities]]
    environment = 'release-pypi'
    kind = 'GitHub'
    repository = 'python-attrs/attrs'
    workflow = 'pypi-package.yml'

[[packages]]
name = 'cattrs'
version = '24.2.0'
requires-python = '>=3.8'
dependencies = [
    {name = 'attrs'},
]

    [[packages.wheels]]
    name = 'cattrs-24.2.0-py3-none-any.whl'
    upload-time = 2024-09-22T14:58:34.812643+00:00
    url = 'https://files.pythonhosted.org/packages/c8/d5/867e75361fc45f6de75fe277dd085627a9db5ebb511a87f27dc1396b5351/cattrs-24.2.0-py3-none-any.whl'
    size = 66446
    hashes = {sha256 = '67c7495b760168d931a10233f979b28dc04daf853b30752246f4f8471c6d68d0'}

[[packages]]
name = 'numpy'
version = '2.2.3'
requires-python = '>=3.10'

    [[packages.wheels]]
    name = 'numpy-2.2.3-cp312-cp312-win_amd64.whl'
    upload-time = 2025-02-13T16:51:21.821880+00:00
    url = 'https://files.pythonhosted.org/packages/42/6e/55580a538116d16ae7c9aa17d4edd56e83f42126cb1dfe7a684da7925d2c/numpy-2.2.3-cp312-cp312-win_amd64.whl'
    size = 12626357
    hashes = {sha256 = '83807d445817326b4bcdaaaf8e8e9f1753da04341eceec705c001ff342002e5d'}

    [[packages.wheels]]
    name = 'numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'
    upload-time = 2025-02-13T16:50:00.079662+00:00
    url = 'https://files.pythonhosted.org/packages/39/04/78d2e7402fb479d893953fb78fa7045f7deb635ec095b6b4f0260223091a/numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'
    size = 16121563
    hashes = {sha256 = '3b787adbf04b0db1967798dba8da1af07e387908ed1553a0d6e74c084d1ceafe'}

[tool.mousebender]
command = ['.', 'lock', '--platform', 'cpython3.12-windows-x64', '--platform', 'cpython3.12-manylinux2014-x64', 'cattrs', 'numpy']
run-on = 2025-03-06T12:28:57.760769
"""
LINUX_312 = {"sys_platform": "linux", "python_full_version": "3.12.1", "python_version": "3.12"}


def write(tmp_path: Path, text: str, name: str = "pylock.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_pep_example_is_read(tmp_path: Path) -> None:
    lock = load(write(tmp_path, PEP_EXAMPLE))
    assert [p.name for p in lock.packages] == ["attrs", "cattrs", "numpy"]
    numpy = lock.packages[2]
    assert [f.filename for f in numpy.files] == [
        "numpy-2.2.3-cp312-cp312-win_amd64.whl",
        "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ]
    assert numpy.files[0].size == 12626357 and numpy.files[0].hashes["sha256"].startswith("83807d")
    assert numpy.line == PEP_EXAMPLE.splitlines().index("[[packages]]", 30) + 1
    chosen = select(tmp_path / "pylock.toml", LINUX_312)
    assert [p.name for p in chosen.index] == ["attrs", "cattrs", "numpy"]


def test_the_pep_example_refuses_other_environments(tmp_path: Path) -> None:
    path = write(tmp_path, PEP_EXAMPLE)
    with pytest.raises(InputError, match="none of the lock's environments matches"):
        select(path, {**LINUX_312, "sys_platform": "darwin"})
    with pytest.raises(InputError, match=r"requires Python ==3\.12; the target has 3\.11\.7"):
        select(path, {**LINUX_312, "python_full_version": "3.11.7", "python_version": "3.11"})


def test_markers_with_groups_and_ambiguity(tmp_path: Path) -> None:
    body = (
        "lock-version = '1.0'\ncreated-by = 't'\ndefault-groups = ['main']\n"
        "[[packages]]\nname = 'a'\nversion = '1'\nmarker = \"'main' in dependency_groups\"\n"
        "sdist = { url = 'https://h/a-1.tar.gz', hashes = { sha256 = 'aa' } }\n"
        "[[packages]]\nname = 'b'\nversion = '1'\nmarker = \"'dev' in dependency_groups\"\n"
        "sdist = { url = 'https://h/b-1.tar.gz', hashes = { sha256 = 'bb' } }\n"
    )
    chosen = select(write(tmp_path, body), LINUX_312)
    assert [p.name for p in chosen.index] == ["a"] and chosen.not_here == (9,)
    twice = body.replace("name = 'b'", "name = 'a'").replace("'dev' in", "'main' in")
    with pytest.raises(InputError, match=r"pylock.toml:9: a is locked twice .*line 4"):
        select(write(tmp_path, twice), LINUX_312)


GOOD = "lock-version = '1.0'\ncreated-by = 't'\n[[packages]]\nname = 'a'\nversion = '1'\n"
WHEEL = "wheels = [{ url = 'https://h/a-1-py3-none-any.whl', hashes = { sha256 = 'ab' } }]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lock-version = \n", r"pylock.toml:1: invalid TOML"),
        ("created-by = 't'\n", r"pylock.toml: lock-version is required"),
        (
            GOOD.replace("'1.0'", "'2.0'") + WHEEL,
            r"lock-version is '2.0'; xv reads lock-version 1.x",
        ),  # fmt: skip
        (GOOD.replace("created-by = 't'\n", "") + WHEEL, "created-by is required"),
        (GOOD, r"pylock.toml:3: packages\[0\] has no way to install it"),
        (
            GOOD.replace("version = '1'", "version = 'one'") + WHEEL,
            r":3: packages\[0\].version is not a valid version",
        ),  # fmt: skip
        (
            GOOD + WHEEL.replace(", hashes = { sha256 = 'ab' }", ""),
            r":3: packages\[0\].wheels\[0\].hashes must be a table",
        ),  # fmt: skip
        (GOOD + WHEEL.replace("sha256 = 'ab'", "md5 = 'ab'"), r"hashes has none of sha256"),
        (GOOD + WHEEL.replace("'ab'", "'zz'"), r"hashes.sha256 is not a hex digest"),
        (
            GOOD + WHEEL.replace(".whl", ".tar.gz"),
            r"wheels\[0\].name 'a-1-py3-none-any.tar.gz' is not a wheel",
        ),  # fmt: skip
        (
            GOOD + WHEEL.replace("url = ", "size = -1, url = "),
            r"wheels\[0\].size must be a non-negative",
        ),  # fmt: skip
        (GOOD + WHEEL.replace("https://h", "ftp://h"), r"wheels\[0\].url is not an http"),
        (GOOD + "marker = 'os_name =='\n" + WHEEL, r"packages\[0\].marker is not a valid marker"),
        (
            GOOD + WHEEL + "archive = { url = 'https://h/a.whl', hashes = { sha256 = 'ab' } }\n",
            "only one of",
        ),  # fmt: skip
        (GOOD.replace("version = '1'\n", "") + WHEEL, r"packages\[0\].version is required"),
        ("lock-version = '1.0'\ncreated-by = 't'\npackages = 3\n", "packages must be an array"),
    ],
)
def test_a_malformed_lock_is_one_error_naming_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        select(write(tmp_path, text), LINUX_312)
    assert str(caught.value).startswith("pylock.toml") or str(tmp_path) in str(caught.value)


def test_the_writer_round_trips_through_tomllib() -> None:
    value = {
        "url": 'https://h/x?a="b"\\c\n\x7f\u00e9\U0001f600',
        "upload-time": datetime.fromisoformat("2024-08-06T14:37:36+00:00"),
        "size": 3,
        "editable": True,
        "hashes": {"sha256": "ab"},
    }
    text = "x = " + toml.value(value) + "\n" + "\n".join(toml.array_of_inline_tables("w", [value, value]))  # fmt: skip
    back = tomllib.loads(text)
    assert back["x"] == value and back["w"] == [value, value]
