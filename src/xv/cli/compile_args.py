"""``xv-compile``'s options, and turning them into :class:`~xv.compile.options.CompileOptions`.

Spellings follow ``uv pip compile``, with pip-compile's aliases (``--constraint``,
``--unsafe-package``, ``--trusted-host``, ``--pre``). pip-compile options that mean nothing
here are accepted with a warning or refused, with uv's wording. Options that config files or
the environment can also set default to ``None`` so that "not given" is visible.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click
import platformdirs
from packaging.utils import canonicalize_name

from xv import config, lockfile
from xv.cli.build_args import BUILD_OPTIONS, build_settings
from xv.cli.output import Reporter
from xv.compile.options import (
    INDEX_STRATEGIES,
    PRERELEASE_MODES,
    RESOLUTION_MODES,
    CacheSettings,
    CompileOptions,
    InputRequest,
    Inputs,
    OutputOptions,
    ResolverSettings,
    load_inputs,
    preferences_from,
)
from xv.errors import InputError, UsageError
from xv.index.settings import DEFAULT_INDEX_URL, IndexSettings, index_settings
from xv.lockfile import RenderOptions
from xv.pylock import is_pylock
from xv.reqfile import FileOptions

F = TypeVar("F", bound=Callable[..., Any])
_MULTI = {"multiple": True, "default": ()}
_FLAG = {"is_flag": True, "default": None}

# (param_decls, attrs) in the order --help lists them.
_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    # inputs and output
    (("-o", "--output-file"), {"help": "Write the pinned requirements to this file (atomically)."}),
    (("--format",), {"type": click.Choice(lockfile.FORMATS), "help": "The output format (default: pylock.toml when -o names pylock.toml or pylock.NAME.toml, else requirements.txt)."}),
    (("-c", "--constraint", "--constraints", "constraint"),
     {**_MULTI, "help": "Constrain versions with this requirements file (repeatable)."}),
    (("--override", "--overrides", "override"),
     {**_MULTI, "help": "Override versions with this requirements file (repeatable)."}),
    (("--extra",), {**_MULTI, "help": "Include this optional-dependency group of pyproject.toml."}),
    (("--all-extras",), {"is_flag": True, "help": "Include every optional dependency."}),
    (("--group",), {**_MULTI, "help": "Include this PEP 735 dependency group (NAME or PATH:NAME)."}),
    (("--no-deps",), {**_FLAG, "help": "Pin only the listed requirements, not their dependencies."}),
    # resolution
    (("--python-version",), {"help": "Resolve for this Python version (e.g. 3.12). [env: XV_PYTHON_VERSION]"}),
    (("--python-platform",), {"help": "Resolve for this platform: linux, macos, windows, x86_64-manylinux_2_28, ... [env: XV_PYTHON_PLATFORM]"}),
    (("-p", "--python"), {"help": "The Python interpreter to resolve for. [env: XV_PYTHON]"}),
    (("--universal",), {**_FLAG, "help": "Resolve for every platform and every Python from --python-version up, with markers. [env: XV_UNIVERSAL]"}),
    (("--prerelease",), {"type": click.Choice(PRERELEASE_MODES), "help": "Pre-release policy (default: if-necessary-or-explicit). [env: XV_PRERELEASE]"}),
    (("--pre",), {"is_flag": True, "help": "Allow pre-releases (same as --prerelease allow)."}),
    (("--resolution",), {"type": click.Choice(RESOLUTION_MODES), "help": "Which compatible version to pick (default: highest). [env: XV_RESOLUTION]"}),
    (("--exclude-newer",), {"metavar": "DATE", "help": "Ignore files uploaded after DATE (2024-03-25 or an RFC 3339 time). [env: XV_EXCLUDE_NEWER]"}),
    (("-U", "--upgrade"), {"is_flag": True, "help": "Ignore the pins of the existing output file."}),
    (("-P", "--upgrade-package"), {**_MULTI, "metavar": "NAME[SPEC]", "help": "Ignore the existing pin of this package (repeatable)."}),
    # indexes
    (("-i", "--index-url", "--default-index", "index_url"), {"help": f"The package index (default: {DEFAULT_INDEX_URL}). [env: XV_INDEX_URL]"}),
    (("--extra-index-url", "--index", "extra_index_url"), {**_MULTI, "help": "Another index to search (repeatable). [env: XV_EXTRA_INDEX_URL, space separated]"}),
    (("-f", "--find-links"), {**_MULTI, "help": "A directory or page of distribution links (repeatable). [env: XV_FIND_LINKS, comma separated]"}),
    (("--no-index",), {**_FLAG, "help": "Use no index, only --find-links and direct URLs. [env: XV_NO_INDEX]"}),
    (("--index-strategy",), {"type": click.Choice(INDEX_STRATEGIES), "help": "How to use several indexes (default: first-index). [env: XV_INDEX_STRATEGY]"}),
    (("--allow-insecure-host", "--trusted-host", "allow_insecure_host"), {**_MULTI, "help": "Allow this host without valid HTTPS (repeatable)."}),
    (("--keyring-provider",), {"type": click.Choice(("disabled", "subprocess")), "help": "On a 401 from an index whose URL names a user, ask `keyring get URL USER` for the password (default: disabled). [env: XV_KEYRING_PROVIDER]"}),
    (("--only-binary",), {**_MULTI, "help": "Use only wheels for these packages (:all: for every one)."}),
    (("--no-binary",), {**_MULTI, "help": "Never use wheels for these packages (:all: for every one)."}),
    (("--no-build",), {**_FLAG, "help": "Never build source distributions."}),
    *BUILD_OPTIONS,
    # cache and network
    (("--cache-dir",), {"help": f"The cache directory (default: {platformdirs.user_cache_dir('xv')}). [env: XV_CACHE_DIR]"}),
    (("-n", "--no-cache"), {**_FLAG, "help": "Use a temporary cache for this run. [env: XV_NO_CACHE]"}),
    (("--refresh",), {"is_flag": True, "help": "Revalidate all cached index data."}),
    (("--offline",), {**_FLAG, "help": "Use only the cache; never touch the network. [env: XV_OFFLINE]"}),
    # the output file
    (("--generate-hashes",), {**_FLAG, "help": "Add --hash lines for every file of each pinned version."}),
    (("--no-strip-extras/--strip-extras", "no_strip_extras"), {"default": None, "help": "Keep extras on the pins (pkg[extra]==1)."}),
    (("--annotation-style",), {"type": click.Choice(("split", "line")), "help": "Layout of the '# via' comments (default: split). [env: XV_ANNOTATION_STYLE]"}),
    (("--no-annotate/--annotate", "no_annotate"), {"default": None, "help": "Leave out the '# via' comments."}),
    (("--no-header/--header", "no_header"), {"default": None, "help": "Leave out the header comment."}),
    (("--custom-compile-command",), {"help": "The command the header shows. [env: XV_CUSTOM_COMPILE_COMMAND]"}),
    (("--emit-index-url/--no-emit-index-url", "emit_index_url"), {"default": None, "help": "Write --index-url/--extra-index-url lines (without credentials)."}),
    (("--emit-find-links/--no-emit-find-links", "emit_find_links"), {"default": None, "help": "Write --find-links lines."}),
    (("--no-emit-package", "no_emit_package"), {**_MULTI, "help": "Leave this package out of the output (repeatable)."}),
    (("--unsafe-package", "unsafe_package"), {**_MULTI, "help": "pip-compile's: list this package commented out in a block of packages 'considered to be unsafe' (repeatable)."}),
    (("--allow-unsafe/--no-allow-unsafe", "allow_unsafe"), {"default": None, "help": "pip-compile's: pin the --unsafe-package packages in their block (xv pins every other package anyway)."}),
    # modes
    (("--dry-run",), {"is_flag": True, "help": "Print the result; write nothing."}),
    (("--check",), {"is_flag": True, "help": "Write nothing; exit 1 with a diff if -o FILE is out of date (2 if missing)."}),
    (("--no-config",), {"is_flag": True, "help": "Ignore xv.toml and [tool.xv]. [env: XV_NO_CONFIG]"}),
    (("-q", "--quiet"), {"count": True, "help": "Print less."}),
    (("-v", "--verbose"), {"count": True, "help": "Print more."}),
    (("--color",), {"type": click.Choice(("auto", "always", "never")), "help": "Colour in messages (default: auto)."}),
    # pip-compile's own options: a warning or a refusal, as uv answers them
    (("--pip-args",), {"hidden": True}),
    (("--resolver",), {"hidden": True, "type": click.Choice(("backtracking", "legacy"))}),
    (("--max-rounds",), {"hidden": True, "type": int}),
    (("--reuse-hashes/--no-reuse-hashes", "reuse_hashes"), {"hidden": True, "default": None}),
    (("--emit-trusted-host/--no-emit-trusted-host", "emit_trusted_host"), {"hidden": True, "default": None}),
    (("--emit-options/--no-emit-options", "emit_options"), {"hidden": True, "default": None}),
    (("--client-cert",), {"hidden": True}),
    (("--config",), {"hidden": True}),
]  # fmt: skip


def options(func: F) -> F:
    """Apply every ``xv-compile`` option and the SRC_FILES argument to ``func``."""
    for decls, attrs in reversed(_OPTIONS):
        func = click.option(*decls, **attrs)(func)
    return click.argument("src_files", nargs=-1, type=click.Path(allow_dash=True))(func)


def check_pip_compile_options(params: dict[str, Any], reporter: Reporter) -> None:
    """Warn about pip-compile options that change nothing; refuse those xv cannot honour."""

    def ignored(flag: str, why: str) -> None:
        reporter.warn(f"pip-compile's `{flag}` has no effect ({why})")

    def refused(flag: str, why: str = "") -> UsageError:
        return UsageError(f"pip-compile's `{flag}` is unsupported" + (f" ({why})" if why else ""))

    if params["allow_unsafe"] is not None and not params["unsafe_package"]:
        flag = "--allow-unsafe" if params["allow_unsafe"] else "--no-allow-unsafe"
        ignored(flag, "xv can safely pin `pip` and other packages")
    if params["reuse_hashes"]:
        raise refused("--reuse-hashes", "xv doesn't reuse hashes")
    if params["reuse_hashes"] is False:
        ignored("--no-reuse-hashes", "xv doesn't reuse hashes")
    if params["resolver"] == "legacy":
        raise refused("--resolver=legacy", "xv always backtracks")
    if params["resolver"] == "backtracking":
        ignored("--resolver=backtracking", "xv always backtracks")
    if params["max_rounds"] is not None:
        raise refused("--max-rounds", "xv always resolves until convergence")
    if params["pip_args"] is not None:
        raise refused("--pip-args", "try passing arguments to xv directly")
    for name, why in (("emit_trusted_host", "trusted hosts"), ("emit_options", "options")):
        flag = "--" + name.replace("_", "-")
        if params[name]:
            raise refused(flag)
        if params[name] is False:
            ignored(flag.replace("--", "--no-", 1), f"xv never emits {why}")
    if params["client_cert"] is not None:
        raise refused("--client-cert", "xv doesn't support dedicated client certificates")
    if params["config"] is not None:
        raise refused("--config", "xv reads ./xv.toml or [tool.xv] in ./pyproject.toml")


_SETTINGS = (
    "index_url", "extra_index_url", "find_links", "no_index", "index_strategy",
    "allow_insecure_host", "keyring_provider", "cache_dir", "no_cache", "offline", "python", "python_version",
    "python_platform", "universal", "prerelease", "resolution", "exclude_newer", "no_deps", "no_build",
    "only_binary", "no_binary", "generate_hashes", "no_strip_extras", "no_annotate", "no_header",
    "annotation_style", "custom_compile_command", "emit_index_url", "emit_find_links",
    "no_emit_package", "unsafe_package", "allow_unsafe",
)  # fmt: skip


def build_options(
    params: dict[str, Any],
    loaded: config.Loaded,
    argv: Sequence[str],
    stdin: Callable[[], str],
    warn: Callable[[str], None] = lambda message: None,
) -> CompileOptions:
    """Every source of settings folded into one :class:`CompileOptions` (inputs are read)."""
    cli = {name: params[name] for name in _SETTINGS}
    if params["pre"] and cli["prerelease"] is None:
        cli["prerelease"] = "allow"
    s = loaded.merged_under(cli)
    request = InputRequest(
        src_files=tuple(params["src_files"]),
        constraints=tuple(params["constraint"]),
        overrides=tuple(params["override"]),
        extras=tuple(params["extra"]),
        all_extras=bool(params["all_extras"]),
        groups=tuple(params["group"]),
    )
    inputs, file_opts = load_inputs(request, stdin)
    # -U implies --refresh, as in uv
    index = index_settings(s, file_opts, refresh=bool(params["refresh"] or params["upgrade"]))
    return CompileOptions(
        inputs=inputs,
        index=index,
        resolver=_resolver_settings(s, file_opts, params, warn),
        cache=CacheSettings(s.get("cache_dir"), bool(s.get("no_cache"))),
        render=_render_options(s, index, argv, params),
        output=OutputOptions(
            output_file=_output_file(params),
            dry_run=bool(params["dry_run"]),
            check=bool(params["check"]),
            quiet=params["quiet"],
            verbose=params["verbose"],
            color=params["color"] or "auto",
        ),
    )


def _resolver_settings(
    s: dict[str, Any],
    file_opts: FileOptions,
    params: dict[str, Any],
    warn: Callable[[str], None],
) -> ResolverSettings:
    prerelease = s.get("prerelease") or ("allow" if file_opts.pre else "if-necessary-or-explicit")
    upgrade_packages = tuple(params["upgrade_package"])
    try:
        preferences = preferences_from(_output_file(params), params["upgrade"], upgrade_packages)
    except InputError as exc:
        # A hand-mangled output file should not block regenerating it.
        warn(f"ignoring the existing pins: {exc}")
        preferences = {}
    universal = bool(s.get("universal"))
    if universal and s.get("python_platform") is not None:  # uv refuses it too
        raise UsageError("--python-platform cannot be used with --universal")
    return ResolverSettings(
        python_version=s.get("python_version"),
        python_platform=s.get("python_platform"),
        python=s.get("python"),
        universal=universal,
        prerelease=prerelease,
        resolution=s.get("resolution") or "highest",
        exclude_newer=s.get("exclude_newer"),
        no_deps=bool(s.get("no_deps")),
        only_binary=binary_set((*s.get("only_binary", ()), *file_opts.only_binary)),
        no_binary=binary_set((*s.get("no_binary", ()), *file_opts.no_binary)),
        no_build=bool(s.get("no_build")),
        build=build_settings(params, bool(s.get("no_build"))),
        upgrade=bool(params["upgrade"]),
        upgrade_packages=upgrade_packages,
        preferences=preferences,
    )


def _render_options(s: dict[str, Any], index: IndexSettings, argv: Sequence[str], params: dict[str, Any]) -> RenderOptions:  # fmt: skip
    emit_index_url = bool(s.get("emit_index_url"))
    emit_find_links = bool(s.get("emit_find_links"))
    command = s.get("custom_compile_command") or lockfile.header_command(
        argv, emit_index_url=emit_index_url, emit_find_links=emit_find_links
    )
    return RenderOptions(
        command=command,
        header=not s.get("no_header"),
        annotate=not s.get("no_annotate"),
        annotation_style=s.get("annotation_style") or "split",
        generate_hashes=bool(s.get("generate_hashes")),
        strip_extras=not s.get("no_strip_extras"),
        emit_index_url=emit_index_url,
        emit_find_links=emit_find_links,
        index_url=None if index.no_index else index.index_url,
        extra_index_urls=() if index.no_index else index.extra_index_urls,
        find_links=index.find_links,
        no_emit_packages=tuple(s.get("no_emit_package", ())),
        format=_format(params),
        python_version=s.get("python_version"),
        universal=bool(s.get("universal")),
        unsafe_packages=tuple(s.get("unsafe_package", ())),
        allow_unsafe=bool(s.get("allow_unsafe")),
    )


def _format(params: dict[str, Any]) -> str:
    """``--format``, else what ``-o`` names: PEP 751 names locks ``pylock.toml`` or
    ``pylock.<name>.toml``, as uv infers it."""
    output = _output_file(params)
    if params["format"] == "pylock.toml" and output is not None and not is_pylock(output):
        raise UsageError(
            "the output file of --format pylock.toml must be named pylock.toml or "
            f"pylock.<name>.toml (PEP 751), not {os.path.basename(output)}"
        )
    if params["format"]:
        return str(params["format"])
    return "pylock.toml" if output is not None and is_pylock(output) else "requirements.txt"


def binary_set(values: Iterable[str]) -> frozenset[str]:
    """pip's ``--only-binary``/``--no-binary`` values: comma lists of names, ``:all:`` and
    ``:none:`` (which clears what came before).

    >>> sorted(binary_set(["Foo_Bar,baz", ":none:", "qux", ":all:"]))
    [':all:', 'qux']
    """
    chosen: set[str] = set()
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            if item == ":none:":
                chosen.clear()
            elif item == ":all:":
                chosen.add(item)
            else:
                chosen.add(canonicalize_name(item))
    return frozenset(chosen)


def _output_file(params: dict[str, Any]) -> str | None:
    """``-o -`` means stdout, as in pip-compile: no file to write, read pins from or check."""
    value: str | None = params["output_file"]
    return None if value == "-" else value


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def shared_options(*flags: str) -> Callable[[F], F]:
    """Apply the ``xv-compile`` options spelled ``flags`` (e.g. ``"--index-url"``) to another
    command, so both commands spell and document them alike."""
    chosen = [(decls, attrs) for decls, attrs in _OPTIONS if set(decls) & set(flags)]

    def decorate(func: F) -> F:
        for decls, attrs in reversed(chosen):
            func = click.option(*decls, **attrs)(func)
        return func

    return decorate


__all__ = [
    "Inputs",
    "binary_set",
    "build_options",
    "check_pip_compile_options",
    "options",
    "shared_options",
]
