"""xv.config: [tool.xv] and xv.toml, XV_* variables, precedence, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from xv import config
from xv.errors import InputError, PyprojectError, UsageError
from xv.settings import Settings

PYPROJECT = """\
[project]
name = "p"

[tool.xv]
index-url = "https://pyproject.example/simple"
annotation-style = "line"
generate-hashes = true
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tool_xv_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    loaded = config.load(tmp_path, environ={})
    assert loaded.values == {
        "index_url": "https://pyproject.example/simple",
        "annotation_style": "line",
        "generate_hashes": True,
    }
    assert loaded.sources["index_url"] == "pyproject.toml"


def test_xv_toml_wins_over_tool_xv_entirely(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    write(tmp_path, "xv.toml", 'index-url = "https://xv-toml.example/simple"\n')
    loaded = config.load(tmp_path, environ={})
    assert loaded.values == {"index_url": "https://xv-toml.example/simple"}


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    write(tmp_path, "xv.toml", 'index-url = "https://file/simple"\nresolution = "lowest"\n'
          'extra-index-url = ["https://f1/simple"]\npython-version = "3.11"\n')  # fmt: skip
    env = {"XV_INDEX_URL": "https://env/simple", "XV_EXTRA_INDEX_URL": "https://e1 https://e2",
           "XV_PYTHON_VERSION": "3.12"}  # fmt: skip
    loaded = config.load(tmp_path, environ=env)
    s = loaded.under(Settings(python_version="3.13"))
    assert s.index_url == "https://env/simple"
    assert s.extra_index_url == ("https://e1", "https://e2")
    assert (s.python_version, s.resolution, s.no_deps) == ("3.13", "lowest", None)
    assert loaded.sources["index_url"] == "env:XV_INDEX_URL"
    assert loaded.sources["resolution"] == "xv.toml"


@pytest.mark.parametrize("how", ["argument", "env"])
def test_no_config_ignores_files_but_not_env(tmp_path: Path, how: str) -> None:
    write(tmp_path, "xv.toml", 'index-url = "https://file/simple"\n')
    env = {"XV_RESOLUTION": "lowest-direct"}
    if how == "env":
        env["XV_NO_CONFIG"] = "1"
    loaded = config.load(tmp_path, environ=env, no_config=how == "argument")
    assert loaded.values == {"resolution": "lowest-direct"}


def test_unknown_key_in_tool_xv_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.xv]\nindex_url = 'x'\n")
    with pytest.raises(PyprojectError) as info:
        config.load(tmp_path, environ={})
    assert str(info.value).startswith(f"{path}: unknown key [tool.xv] 'index_url' (known keys: ")
    assert info.value.exit_code == 2


def test_unknown_key_in_xv_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "xv.toml", "colour = 'never'\n")
    with pytest.raises(InputError, match=rf"^{path}: unknown key 'colour'"):
        config.load(tmp_path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no-index = 'yes'\n", "'no-index' must be true or false, not 'yes'"),
        ("annotation-style = 'wide'\n", "'annotation-style' must be one of split, line"),
        ("find-links = [1]\n", "'find-links' must be a list of strings"),
        ("index-url = \n", "invalid TOML"),
    ],
)
def test_bad_values_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "xv.toml", text)
    with pytest.raises(InputError, match=message):
        config.load(tmp_path, environ={})


def test_a_single_string_is_accepted_for_a_list(tmp_path: Path) -> None:
    write(tmp_path, "xv.toml", "find-links = './wheels'\n")
    assert config.load(tmp_path, environ={}).values == {"find_links": ("./wheels",)}


def test_environment_parsing() -> None:
    env = {
        "XV_NO_INDEX": "true",
        "XV_OFFLINE": "0",
        "XV_FIND_LINKS": "./a, https://b/links",
        "XV_CACHE_DIR": "",
        "XV_CUSTOM_COMPILE_COMMAND": "make lock",
        "XV_PRERELEASE": "allow",
    }
    assert config.from_env(env) == {
        "no_index": True,
        "offline": False,
        "find_links": ("./a", "https://b/links"),
        "custom_compile_command": "make lock",
        "prerelease": "allow",
    }


@pytest.mark.parametrize(
    "env", [{"XV_NO_INDEX": "maybe"}, {"XV_RESOLUTION": "newest"}, {"XV_NO_CONFIG": "x"}]
)
def test_bad_environment_values_are_usage_errors(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match=next(iter(env))):
        config.load(tmp_path, environ=env)


def test_no_file_no_settings(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'p'\n")
    assert config.load(tmp_path, environ={}).values == {}
