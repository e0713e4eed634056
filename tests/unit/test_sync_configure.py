"""xv.sync.configure: typed settings to SyncOptions, without click, reading no input file."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from xv.errors import UsageError
from xv.index.simple import DistFile
from xv.resolver.candidates import BinaryPolicy
from xv.settings import Settings
from xv.sync.configure import sync_options
from xv.sync.policy import FilePolicy


def test_options_from_typed_settings_read_no_input_file(xv_home: Path) -> None:
    opts = sync_options(
        Settings(
            src_files=("missing.txt",),  # read by the use case, not here
            exclude_newer="2024-03-01",
            only_binary=("Foo_Bar,baz",),
            reinstall_package=("a",),
            link_mode="symlink",
            target="out",
        )
    )
    assert opts.src_files == ("missing.txt",)
    assert opts.exclude_newer == datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert opts.only_binary == frozenset({"foo-bar", "baz"})
    assert opts.reinstall_packages == frozenset({"a"})
    assert (opts.link_mode, opts.target, opts.prefix) == ("symlink", "out", None)
    assert not (xv_home / "out").exists()


def test_no_file_named_means_requirements_txt_which_must_exist(xv_home: Path) -> None:
    with pytest.raises(UsageError, match=r"no requirements file given, and \./requirements"):
        sync_options(Settings())
    (xv_home / "requirements.txt").write_text("")
    assert sync_options(Settings()).src_files == ("requirements.txt",)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"dry_run": True, "check": True}, "--dry-run and --check cannot be used together"),
        ({"download_only": "d", "strict": True}, "--download-only changes no environment"),
        ({"target": "t", "prefix": "p"}, "--target and --prefix cannot be used together"),
        ({"python_version": "3.12"}, "use them with --target, --prefix or --download-only"),
        (
            {"python_version": "3.12", "target": "t", "compile_bytecode": True},
            "--compile-bytecode needs",
        ),  # fmt: skip
        ({"exclude_newer": "soon"}, "invalid --exclude-newer 'soon'"),
    ],
)
def test_contradictions_are_usage_errors(
    xv_home: Path, given: dict[str, Any], message: str
) -> None:
    cli = dataclasses.replace(Settings(src_files=("r.txt",)), **given)
    with pytest.raises(UsageError, match=message):
        sync_options(cli)


def test_environment_and_config_files_give_only_sync_settings(
    xv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (xv_home / "xv.toml").write_text(
        'index-url = "http://config.invalid/simple"\ngenerate-hashes = true\n'
        'exclude-newer = "2024-01-02T03:04:05Z"\n'
    )
    monkeypatch.setenv("XV_OFFLINE", "1")
    opts = sync_options(Settings(src_files=("r.txt",)))
    assert opts.settings.index_url == "http://config.invalid/simple"
    assert opts.settings.offline is True
    assert opts.settings.generate_hashes is None  # xv-compile's key
    assert opts.exclude_newer == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    given = sync_options(Settings(src_files=("r.txt",), index_url="http://cli.invalid/simple"))
    assert given.settings.index_url == "http://cli.invalid/simple"


def test_exclude_newer_narrows_the_files_of_a_pin_for_sync_only() -> None:
    cutoff = datetime(2024, 3, 1, tzinfo=UTC)
    policy = FilePolicy(exclude_newer=cutoff)
    old = DistFile("a-1-py3-none-any.whl", "http://x/a", upload_time="2024-02-01T00:00:00Z")
    new = dataclasses.replace(old, upload_time="2024-03-02T00:00:00.5Z")
    undated = dataclasses.replace(old, upload_time=None)
    assert [policy.uploaded_in_time(f) for f in (old, new, undated)] == [True, False, True]
    assert FilePolicy().uploaded_in_time(new)
    # xv-compile filters candidates by the cut-off; its binary policy has none
    assert "exclude_newer" not in {f.name for f in dataclasses.fields(BinaryPolicy)}


@pytest.mark.parametrize(
    "config_file, text",
    [
        ("xv.toml", 'python-version = "3.8"\npython-platform = "windows"\n'),
        ("pyproject.toml", '[tool.xv]\npython-version = "3.8"\npython-platform = "windows"\n'),
    ],
)
def test_config_file_python_version_and_platform_are_xv_compiles_only(
    xv_home: Path, config_file: str, text: str
) -> None:
    # One config file serves both commands: its target for compiling must not make a plain
    # venv sync a usage error (nor choose foreign wheels for a --target sync).
    (xv_home / config_file).write_text(text)
    plain = sync_options(Settings(src_files=("r.txt",)))
    assert (plain.settings.python_version, plain.settings.python_platform) == (None, None)
    target = sync_options(Settings(src_files=("r.txt",), target="t"))
    assert (target.settings.python_version, target.settings.python_platform) == (None, None)


def test_python_version_from_the_environment_keeps_the_command_line_rules(
    xv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XV_PYTHON_VERSION", "3.12")
    with pytest.raises(UsageError, match="use them with --target, --prefix or --download-only"):
        sync_options(Settings(src_files=("r.txt",)))
    opts = sync_options(Settings(src_files=("r.txt",), target="t"))
    assert opts.settings.python_version == "3.12"
