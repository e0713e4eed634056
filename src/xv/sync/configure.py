"""Typed settings in, :class:`~xv.sync.run.SyncOptions` out: the compiled files to sync,
the options checked together, and the environment and config files under the command line.

Like :mod:`xv.compile.configure`, this is the use case's side of the command line; unlike
xv-compile's inputs, the compiled files are read only by :func:`xv.sync.run.sync` (once it
knows the target's markers), so building options reads no file but the config files.
"""

from __future__ import annotations

import os

from xv import config
from xv.build.settings import build_settings
from xv.errors import UsageError
from xv.settings import Settings, binary_set, parse_exclude_newer
from xv.sync.run import SyncOptions

DEFAULT_FILE = "requirements.txt"

# Only these come from the environment and config files for xv-sync (xv.toml's resolution
# and output keys are xv-compile's).
LAYERED = (
    "index_url", "extra_index_url", "find_links", "no_index", "index_strategy",
    "allow_insecure_host", "keyring_provider", "cache_dir", "no_cache", "offline", "python",
    "exclude_newer", "python_version", "python_platform",
)  # fmt: skip

# A config file's target is the one xv-compile resolves for; the same file must not make a
# plain venv sync an error nor pick foreign wheels for a --target sync. Given on the command
# line or as XV_* variables, these keep xv-sync's rules (uv applies `[tool.uv.pip]`'s to both).
COMPILE_ONLY_IN_FILES = ("python_version", "python_platform")


def sync_options(cli: Settings) -> SyncOptions:
    """The command line ``cli`` over the environment and config files, as :func:`sync` takes it.

    Raises :class:`UsageError` for options that contradict each other."""
    if not cli.src_files and not os.path.isfile(DEFAULT_FILE):
        raise UsageError(f"no requirements file given, and ./{DEFAULT_FILE} does not exist")
    if cli.dry_run and cli.check:
        raise UsageError("--dry-run and --check cannot be used together")
    if cli.download_only and (cli.dry_run or cli.check or cli.strict):
        raise UsageError("--download-only changes no environment: not with --dry-run, --check or --strict")  # fmt: skip
    s = _layered(config.load(no_config=cli.no_config), cli)
    _check_directories(s)
    return SyncOptions(
        src_files=s.src_files or (DEFAULT_FILE,),
        settings=s,
        system=s.system,
        break_system_packages=s.break_system_packages,
        dry_run=s.dry_run,
        check=s.check,
        reinstall=s.reinstall,
        reinstall_packages=frozenset(s.reinstall_package),
        link_mode=s.link_mode,
        compile_bytecode=s.compile_bytecode,
        require_hashes=s.require_hashes,
        refresh=s.refresh,
        allow_empty_requirements=s.allow_empty_requirements,
        build=build_settings(s),
        only_binary=binary_set(s.only_binary),
        no_binary=binary_set(s.no_binary),
        exclude_newer=parse_exclude_newer(s.exclude_newer),
        strict=s.strict,
        download_only=s.download_only,
        target=s.target,
        prefix=s.prefix,
    )


def _layered(loaded: config.Loaded, cli: Settings) -> Settings:
    """``cli`` over the environment and the config file's sync settings."""
    from_files = {
        name
        for name in COMPILE_ONLY_IN_FILES
        if not loaded.sources.get(name, "").startswith(config.ENV_SOURCE)
    }
    return loaded.under(cli, only=[name for name in LAYERED if name not in from_files])


def _check_directories(s: Settings) -> None:
    """``--target``/``--prefix``/``--download-only`` and the foreign-target options."""
    if s.target and s.prefix:
        raise UsageError("--target and --prefix cannot be used together")
    elsewhere = s.target or s.prefix or s.download_only
    foreign = s.python_version or s.python_platform
    if foreign and not elsewhere:
        raise UsageError(
            "--python-version and --python-platform choose wheels for another interpreter: "
            "use them with --target, --prefix or --download-only"
        )
    if foreign and s.compile_bytecode:
        raise UsageError("--compile-bytecode needs the target's own interpreter, not --python-version/--python-platform")  # fmt: skip
