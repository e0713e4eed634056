"""Typed settings in, :class:`~xv.compile.options.CompileOptions` out: the use case reads
the input files (and the existing output file's pins) here, so that building settings on
the command line reads no file but the config files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence

from xv import lockfile
from xv.build.settings import build_settings
from xv.compile.defaults import with_default_files
from xv.compile.options import (
    CacheSettings,
    CompileOptions,
    InputRequest,
    OutputOptions,
    ResolverSettings,
    load_inputs,
    preferences_from,
)
from xv.errors import InputError, UsageError
from xv.index.settings import IndexSettings, index_settings
from xv.lockfile import Pin, RenderOptions
from xv.pylock import is_pylock
from xv.reqfile import FileOptions
from xv.settings import OutputFormat, Prerelease, Settings, binary_set


def compile_options(
    s: Settings,
    argv: Sequence[str],
    stdin: Callable[[], str],
    warn: Callable[[str], None] = lambda message: None,
    note: Callable[[str], None] = lambda message: None,
) -> CompileOptions:
    """The merged settings and what the input files add, as one :class:`CompileOptions`.

    ``argv`` is the command line the output header repeats; ``stdin()`` reads ``-``;
    ``note`` hears which default input is compiled when none is named (pip-compile's habit)."""
    s = with_default_files(s, note)
    request = InputRequest(
        src_files=s.src_files,
        constraints=s.constraint,
        overrides=s.override,
        extras=s.extra,
        all_extras=s.all_extras,
        groups=s.group,
    )
    inputs, file_opts = load_inputs(request, stdin)
    # -U implies --refresh, as in uv
    index = index_settings(s, file_opts, refresh=s.refresh or s.upgrade)
    return CompileOptions(
        inputs=inputs,
        index=index,
        resolver=_resolver_settings(s, file_opts, warn),
        cache=CacheSettings(s.cache_dir, bool(s.no_cache)),
        render=_render_options(s, index, argv),
        output=OutputOptions(
            output_file=_output_file(s),
            dry_run=s.dry_run,
            check=s.check,
            quiet=s.quiet,
            verbose=s.verbose,
            color=s.color or "auto",
        ),
    )


def _resolver_settings(
    s: Settings, file_opts: FileOptions, warn: Callable[[str], None]
) -> ResolverSettings:
    prerelease: Prerelease = s.prerelease or (
        "allow" if file_opts.pre else "if-necessary-or-explicit"
    )
    upgrade_packages = s.upgrade_package
    # --check reads them only when its record misses (with_preferences): a hit never needs them.
    preferences = (
        {} if s.check else _preferences(_output_file(s), s.upgrade, upgrade_packages, warn)
    )
    universal = bool(s.universal)
    if universal and s.python_platform is not None:  # uv refuses it too
        raise UsageError("--python-platform cannot be used with --universal")
    return ResolverSettings(
        python_version=s.python_version,
        python_platform=s.python_platform,
        python=s.python,
        universal=universal,
        prerelease=prerelease,
        resolution=s.resolution or "highest",
        exclude_newer=s.exclude_newer,
        no_deps=bool(s.no_deps),
        only_binary=binary_set((*s.only_binary, *file_opts.only_binary)),
        no_binary=binary_set((*s.no_binary, *file_opts.no_binary)),
        no_build=bool(s.no_build),
        build=build_settings(s),
        upgrade=s.upgrade,
        upgrade_packages=upgrade_packages,
        preferences=preferences,
    )


def with_preferences(opts: CompileOptions, warn: Callable[[str], None]) -> CompileOptions:
    """``opts`` with the existing output file's pins as preferences, which
    :func:`compile_options` leaves out under ``--check``."""
    r = opts.resolver
    pins = _preferences(opts.output.output_file, r.upgrade, r.upgrade_packages, warn)
    return dataclasses.replace(opts, resolver=dataclasses.replace(r, preferences=pins))


def _preferences(
    output_file: str | None,
    upgrade: bool,
    upgrade_packages: Sequence[str],
    warn: Callable[[str], None],
) -> Mapping[str, Pin]:
    try:
        return preferences_from(output_file, upgrade, upgrade_packages)
    except InputError as exc:
        # A hand-mangled output file should not block regenerating it.
        warn(f"ignoring the existing pins: {exc}")
        return {}


def _render_options(s: Settings, index: IndexSettings, argv: Sequence[str]) -> RenderOptions:
    emit_index_url = bool(s.emit_index_url)
    emit_find_links = bool(s.emit_find_links)
    command = s.custom_compile_command or lockfile.header_command(
        argv, emit_index_url=emit_index_url, emit_find_links=emit_find_links
    )
    return RenderOptions(
        command=command,
        header=not s.no_header,
        annotate=not s.no_annotate,
        annotation_style=s.annotation_style or "split",
        generate_hashes=bool(s.generate_hashes),
        strip_extras=not s.no_strip_extras,
        emit_index_url=emit_index_url,
        emit_find_links=emit_find_links,
        index_url=None if index.no_index else index.index_url,
        extra_index_urls=() if index.no_index else index.extra_index_urls,
        find_links=index.find_links,
        no_emit_packages=s.no_emit_package,
        format=_format(s),
        python_version=s.python_version,
        universal=bool(s.universal),
        unsafe_packages=s.unsafe_package,
        allow_unsafe=bool(s.allow_unsafe),
    )


def _format(s: Settings) -> OutputFormat:
    """``--format``, else what ``-o`` names: PEP 751 names locks ``pylock.toml`` or
    ``pylock.<name>.toml``, as uv infers it."""
    output = _output_file(s)
    if s.format == "pylock.toml" and output is not None and not is_pylock(output):
        raise UsageError(
            "the output file of --format pylock.toml must be named pylock.toml or "
            f"pylock.<name>.toml (PEP 751), not {os.path.basename(output)}"
        )
    if s.format:
        return s.format
    return "pylock.toml" if output is not None and is_pylock(output) else "requirements.txt"


def _output_file(s: Settings) -> str | None:
    """``-o -`` means stdout, as in pip-compile: no file to write, read pins from or check."""
    return None if s.output_file == "-" else s.output_file
