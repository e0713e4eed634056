"""xv.settings: the one registry of settings, and what is derived from it."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xv import config, settings
from xv.cli.cache import main as xv_main
from xv.cli.compile import main as compile_main
from xv.cli.sync import main as sync_main
from xv.errors import InputError
from xv.settings import Command, Entry

COMMANDS: dict[Command, click.Command] = {"xv-compile": compile_main, "xv-sync": sync_main}


def _commands() -> list[tuple[Command, str, click.Command]]:
    """Every command with options: xv-compile, xv-sync and each ``xv cache`` command."""
    found: list[tuple[Command, str, click.Command]] = [(n, n, c) for n, c in COMMANDS.items()]
    ctx = click.Context(xv_main)
    cache = xv_main.get_command(ctx, "cache")
    assert isinstance(cache, click.Group)
    for name in cache.list_commands(ctx):
        sub = cache.get_command(ctx, name)
        assert sub is not None
        found.append(("xv cache", f"xv cache {name}", sub))
    return found


def test_every_setting_has_a_flag_or_a_config_key() -> None:
    for entry in settings.entries():
        assert entry.spec.flags or entry.config_key or entry.spec.argument, entry.name


def test_config_keys_env_variables_and_flags_are_unique() -> None:
    entries = settings.entries()
    keys = Counter(e.config_key for e in entries if e.config_key)
    variables = Counter(e.spec.env for e in entries if e.spec.env)
    assert [k for k, n in keys.items() if n > 1] == []
    assert [v for v, n in variables.items() if n > 1] == []
    for command in ("xv-compile", "xv-sync", "xv cache"):
        flags = Counter(
            f
            for e in settings.command_entries(command)
            for d in e.flags_for(command)
            for f in d.split("/")
        )
        assert [f for f, n in flags.items() if n > 1] == [], command


def test_config_accepts_exactly_the_layered_settings() -> None:
    layered = {e.config_key for e in settings.layered()}
    table = {key: True for key in layered if key is not None}
    with pytest.raises(InputError) as info:  # wrong types, but no unknown key
        config.validate(table, "xv.toml")
    assert "unknown key" not in str(info.value)
    with pytest.raises(InputError, match="unknown key 'dry-run'"):
        config.validate({"dry-run": True}, "xv.toml")


def test_choices_come_from_the_literal_types() -> None:
    assert settings.entry("resolution").choices == ("highest", "lowest", "lowest-direct")
    assert settings.entry("link_mode").default == "hardlink"
    assert settings.entry("extra_index_url").kind == "list"
    assert settings.entry("no_header").kind == "bool"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_every_flag_once(command: Command) -> None:
    result = CliRunner().invoke(COMMANDS[command], ["--help"])
    assert result.exit_code == 0, result.output
    # The first column of each option row: "  -i, --index-url, --default-index TEXT  help..."
    columns = [
        line.strip().split("  ")[0] for line in result.output.splitlines() if line.startswith("  -")
    ]
    listed = Counter(re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", " ".join(columns)))
    for entry in settings.command_entries(command):
        for flag in (f for decl in entry.flags_for(command) for f in decl.split("/")):
            assert listed[flag] == (0 if entry.spec.hidden else 1), (command, flag)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_declares_the_registry_options(command: Command) -> None:
    params = {p.name for p in COMMANDS[command].params if isinstance(p, click.Option)}
    expected = {e.name for e in settings.command_entries(command)}
    assert expected <= params
    assert params - expected <= {"help", "version"}


@pytest.mark.parametrize("command, path, cmd", _commands(), ids=lambda v: str(v))
def test_every_click_option_comes_from_the_registry(
    command: Command, path: str, cmd: click.Command
) -> None:
    """Each option of every command is a registry entry, spelled and explained as it says."""
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.name in ("help", "version"):
            continue
        assert param.name in settings.by_name(), (path, param.name)
        entry = settings.entry(param.name)
        flags = [f for decl in entry.flags_for(command) for f in decl.split("/")]
        assert [*param.opts, *param.secondary_opts] == flags, (path, param.name)
        assert param.hidden == entry.spec.hidden
        if not entry.spec.hidden:
            assert param.help is not None
            assert param.help.startswith(entry.help_for(command).split("{")[0]), path


def _valid(entry: Entry) -> object:
    """A value of the setting's type as TOML gives it."""
    if entry.kind == "choice":
        return entry.choices[-1]
    return {"bool": True, "str": "x", "list": ["a", "b"], "int": 1}[entry.kind]


def test_config_validation_accepts_every_setting_with_a_config_key(tmp_path: Path) -> None:
    table = {e.config_key: _valid(e) for e in settings.layered() if e.config_key}
    assert "index-url" in table and "cache-dir" in table
    body = "".join(f"{key} = {_toml(value)}\n" for key, value in table.items())
    (tmp_path / "xv.toml").write_text(body)
    loaded = config.load(cwd=tmp_path, environ={})
    s = loaded.under(settings.Settings())
    for entry in settings.layered():
        value = _valid(entry)
        assert getattr(s, entry.name) == (tuple(value) if isinstance(value, list) else value)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"'


def test_settings_are_frozen_values_made_by_keyword() -> None:
    # Frozen without the generated __eq__/__repr__/__hash__ (start-up cost): still immutable,
    # replaced field by field, and unknown keywords refused.
    s = settings.Settings(python="3.12", quiet=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.python = "3.13"  # type: ignore[misc]
    changed = dataclasses.replace(s, python="3.13")
    assert (changed.python, changed.quiet, s.python) == ("3.13", 1, "3.12")
    with pytest.raises(TypeError, match="unknown settings: nope"):
        settings.Settings(nope=1)  # type: ignore[call-arg]
