"""One registry of settings: each field of :class:`Settings` is one setting, with its type
(``Literal`` for choices), CLI flags, ``XV_*`` variable, config-file key and help.

Click options (:mod:`xv.cli.options`), config-file validation and environment reading
(:mod:`xv.config`) are derived from this table, so a setting is spelled once. The values are
typed: ``settings.index_url`` is checked by mypy where ``params["index_url"]`` was not.

A setting with a config key is *layered*: the command line wins, then its ``XV_*`` variable,
then the config file. Those default to ``None`` (or ``()``) so that "not given" is visible.
Help texts may use ``{default_index}`` and ``{cache_dir}``, filled in by the CLI.

Built at every start-up, so kept cheap (measured): annotations are evaluated with the module
(no ``from __future__ import annotations``: :func:`entries` reads each field's type as is,
where ``typing.get_type_hints`` compiled 75 strings), and :class:`Settings` has a
hand-written ``__init__`` (the generated one, with 75 parameters, took longer to compile
than the rest of the class).
"""

import dataclasses
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

from xv.errors import UsageError
from xv.names import canonicalize_name
from xv.records import record

Prerelease = Literal["disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit"]
Resolution = Literal["highest", "lowest", "lowest-direct"]
IndexStrategy = Literal["first-index", "unsafe-first-match", "unsafe-best-match"]
AnnotationStyle = Literal["split", "line"]
Color = Literal["auto", "always", "never"]
LinkMode = Literal["hardlink", "copy", "symlink"]
KeyringProvider = Literal["disabled", "subprocess"]
OutputFormat = Literal["requirements.txt", "pylock.toml"]
Value = str | bool | int | tuple[str, ...] | None
Kind = Literal["str", "bool", "list", "choice", "int"]
Command = Literal["xv-compile", "xv-sync", "xv cache"]
# Here, where option help names it without loading the index's settings (xv.index.settings
# uses it and re-exports it).
DEFAULT_INDEX_URL = "https://pypi.org/simple"


@record
class As:
    """How another command spells or explains a setting (unset: as ``xv-compile`` does)."""

    help: str | None = None
    flags: tuple[str, ...] | None = None
    metavar: str | None = None
    env_note: bool = True  # False: its help does not name the XV_* variable


@record
class Spec:
    """How one setting is spelled outside Python (the field gives its name and type)."""

    flags: tuple[str, ...] = ()  # "--no-header/--header" for an on/off pair
    help: str = ""
    env: str | None = None
    config: bool = False  # read from config files, under the field's name with dashes
    env_separator: str | None = None  # for lists: None splits on whitespace
    metavar: str | None = None
    hidden: bool = False
    count: bool = False
    argument: bool = False  # the positional SRC_FILES
    directory: bool = False  # a directory path (click refuses an existing file)
    sync: As | None = None  # where xv-sync spells or explains it otherwise
    cache: As | None = None  # where ``xv cache`` spells or explains it otherwise


def _s(default: Any = None, **spec: Any) -> Any:
    return dataclasses.field(default=default, metadata={"xv": Spec(**spec)})


_MANY = "(repeatable)"
_T = TypeVar("_T")


@typing.dataclass_transform(frozen_default=True)
def _registry(cls: type[_T]) -> type[_T]:
    """A frozen dataclass whose ``__init__`` is the class's own: mypy still checks the
    keywords given to ``Settings(...)`` against the fields (PEP 681). Without the generated
    ``__repr__``, ``__eq__`` and ``__hash__`` over all 75 fields (~4 ms of every start-up to
    compile): settings are read field by field, never compared, hashed or printed whole."""
    return dataclass(frozen=True, init=False, repr=False, eq=False)(cls)


@_registry
class Settings:
    """Every setting of ``xv-compile`` and ``xv-sync`` (in the order ``--help`` lists them),
    made from keywords: ``Settings(python="3.12", quiet=1)``; the others keep their defaults.
    """

    # fmt: off
    src_files: tuple[str, ...] = _s((), argument=True, help="The input files.")
    # inputs and output
    output_file: str | None = _s(flags=("-o", "--output-file"), help="Write the pinned requirements to this file (atomically).")
    format: OutputFormat | None = _s(flags=("--format",), help="The output format (default: pylock.toml when -o names pylock.toml or pylock.NAME.toml, else requirements.txt).")
    constraint: tuple[str, ...] = _s((), flags=("-c", "--constraint", "--constraints"), help=f"Constrain versions with this requirements file {_MANY}.")
    override: tuple[str, ...] = _s((), flags=("--override", "--overrides"), help=f"Override versions with this requirements file {_MANY}.")
    extra: tuple[str, ...] = _s((), flags=("--extra",), help="Include this optional-dependency group of pyproject.toml.")
    all_extras: bool = _s(False, flags=("--all-extras",), help="Include every optional dependency.")
    group: tuple[str, ...] = _s((), flags=("--group",), help="Include this PEP 735 dependency group (NAME or PATH:NAME).")
    no_deps: bool | None = _s(flags=("--no-deps",), config=True, help="Pin only the listed requirements, not their dependencies.")
    # resolution
    python_version: str | None = _s(flags=("--python-version",), env="XV_PYTHON_VERSION", config=True, help="Resolve for this Python version (e.g. 3.12).", sync=As(help="With --target, --prefix or --download-only: choose wheels for this Python (e.g. 3.12)."))
    python_platform: str | None = _s(flags=("--python-platform",), env="XV_PYTHON_PLATFORM", config=True, help="Resolve for this platform: linux, macos, windows, x86_64-manylinux_2_28, ...", sync=As(help="With --target, --prefix or --download-only: choose wheels for this platform (linux, macos, windows, x86_64-manylinux_2_28, ...)."))
    python: str | None = _s(flags=("-p", "--python"), env="XV_PYTHON", config=True, help="The Python interpreter to resolve for.", sync=As(flags=("-p", "--python", "--python-executable"), help="The interpreter (or environment directory, or 3.12) whose environment to sync."))
    universal: bool | None = _s(flags=("--universal",), env="XV_UNIVERSAL", config=True, help="Resolve for every platform and every Python from --python-version up, with markers.")
    prerelease: Prerelease | None = _s(flags=("--prerelease",), env="XV_PRERELEASE", config=True, help="Pre-release policy (default: if-necessary-or-explicit).")
    pre: bool = _s(False, flags=("--pre",), help="Allow pre-releases (same as --prerelease allow).")
    resolution: Resolution | None = _s(flags=("--resolution",), env="XV_RESOLUTION", config=True, help="Which compatible version to pick (default: highest).")
    exclude_newer: str | None = _s(flags=("--exclude-newer",), env="XV_EXCLUDE_NEWER", config=True, metavar="DATE", help="Ignore files uploaded after DATE (2024-03-25 or an RFC 3339 time).")
    upgrade: bool = _s(False, flags=("-U", "--upgrade"), help="Ignore the pins of the existing output file.")
    upgrade_package: tuple[str, ...] = _s((), flags=("-P", "--upgrade-package"), metavar="NAME[SPEC]", help=f"Ignore the existing pin of this package {_MANY}.")
    # xv-sync: the target and what to change
    target: str | None = _s(flags=("-t", "--target"), metavar="DIR", directory=True, help="Sync the packages at the top of DIR instead of an environment (scripts in DIR/bin), as uv.")
    prefix: str | None = _s(flags=("--prefix",), metavar="DIR", directory=True, help="Sync into DIR/lib/pythonX.Y/site-packages and DIR/bin, as if a virtual environment lived at DIR.")
    system: bool = _s(False, flags=("--system",), help="Sync the first python3 on PATH (not a virtual environment).")
    break_system_packages: bool = _s(False, flags=("--break-system-packages",), help="Allow an externally managed (PEP 668) environment.")
    reinstall: bool = _s(False, flags=("--reinstall",), help="Reinstall every package of the files.")
    reinstall_package: tuple[str, ...] = _s((), flags=("--reinstall-package",), metavar="NAME", help=f"Reinstall this package {_MANY}.")
    link_mode: LinkMode = _s("hardlink", flags=("--link-mode",), help="How files get from the cache into the environment (default: hardlink, copy when that fails; symlink points into the cache, which must then be kept).")
    compile_bytecode: bool = _s(False, flags=("--compile-bytecode",), help="Compile the installed .py files to bytecode.")
    require_hashes: bool = _s(False, flags=("--require-hashes",), help="Require a --hash for every pin.")
    # indexes
    index_url: str | None = _s(flags=("-i", "--index-url", "--default-index"), env="XV_INDEX_URL", config=True, help="The package index (default: {default_index}).")
    extra_index_url: tuple[str, ...] = _s((), flags=("--extra-index-url", "--index"), env="XV_EXTRA_INDEX_URL", config=True, help=f"Another index to search {_MANY}.")
    find_links: tuple[str, ...] = _s((), flags=("-f", "--find-links"), env="XV_FIND_LINKS", env_separator=",", config=True, help=f"A directory or page of distribution links {_MANY}.")
    no_index: bool | None = _s(flags=("--no-index",), env="XV_NO_INDEX", config=True, help="Use no index, only --find-links and direct URLs.")
    index_strategy: IndexStrategy | None = _s(flags=("--index-strategy",), env="XV_INDEX_STRATEGY", config=True, help="How to use several indexes (default: first-index).")
    allow_insecure_host: tuple[str, ...] = _s((), flags=("--allow-insecure-host", "--trusted-host"), env="XV_INSECURE_HOST", config=True, help=f"Allow this host without valid HTTPS {_MANY}.")
    keyring_provider: KeyringProvider | None = _s(flags=("--keyring-provider",), env="XV_KEYRING_PROVIDER", config=True, help="On a 401 from an index whose URL names a user, ask `keyring get URL USER` for the password (default: disabled).")
    only_binary: tuple[str, ...] = _s((), flags=("--only-binary",), config=True, help="Use only wheels for these packages (:all: for every one).")
    no_binary: tuple[str, ...] = _s((), flags=("--no-binary",), config=True, help="Never use wheels for these packages (:all: for every one).", sync=As(help="Build these packages from their sdists (:all: for every one)."))
    no_build: bool | None = _s(flags=("--no-build",), config=True, help="Never build source distributions.", sync=As(help="Never build: refuse sdists, directories and VCS entries (editables excepted)."))
    no_build_isolation: bool = _s(False, flags=("--no-build-isolation",), help="Build in the target environment as it is, instead of an isolated one with the build requirements.")
    build_constraint: tuple[str, ...] = _s((), flags=("-b", "--build-constraint", "--build-constraints"), metavar="FILE", help=f"Constrain build requirements with this requirements file {_MANY}.")
    config_setting: tuple[str, ...] = _s((), flags=("-C", "--config-setting", "--config-settings"), metavar="KEY=VALUE", help=f"Pass this setting to PEP 517 build backends {_MANY}.")
    no_build_package: tuple[str, ...] = _s((), flags=("--no-build-package",), metavar="NAME", help=f"Never build this package from source {_MANY}.")
    allow_empty_requirements: bool = _s(False, flags=("--allow-empty-requirements/--no-allow-empty-requirements",), help="Sync even when no pin applies, which removes every package (refused by default).")
    # cache and network
    cache_dir: str | None = _s(flags=("--cache-dir",), env="XV_CACHE_DIR", config=True, help="The cache directory (default: {cache_dir}).", cache=As(help="The cache directory.", metavar="DIR"))
    no_cache: bool | None = _s(flags=("-n", "--no-cache"), env="XV_NO_CACHE", config=True, help="Use a temporary cache for this run.")
    refresh: bool = _s(False, flags=("--refresh",), help="Revalidate all cached index data.")
    offline: bool | None = _s(flags=("--offline",), env="XV_OFFLINE", config=True, help="Use only the cache; never touch the network.")
    # the output file
    generate_hashes: bool | None = _s(flags=("--generate-hashes",), config=True, help="Add --hash lines for every file of each pinned version.")
    no_strip_extras: bool | None = _s(flags=("--no-strip-extras/--strip-extras",), config=True, help="Keep extras on the pins (pkg[extra]==1).")
    annotation_style: AnnotationStyle | None = _s(flags=("--annotation-style",), env="XV_ANNOTATION_STYLE", config=True, help="Layout of the '# via' comments (default: split).")
    no_annotate: bool | None = _s(flags=("--no-annotate/--annotate",), config=True, help="Leave out the '# via' comments.")
    no_header: bool | None = _s(flags=("--no-header/--header",), config=True, help="Leave out the header comment.")
    custom_compile_command: str | None = _s(flags=("--custom-compile-command",), env="XV_CUSTOM_COMPILE_COMMAND", config=True, help="The command the header shows.")
    emit_index_url: bool | None = _s(flags=("--emit-index-url/--no-emit-index-url",), config=True, help="Write --index-url/--extra-index-url lines (without credentials).")
    emit_find_links: bool | None = _s(flags=("--emit-find-links/--no-emit-find-links",), config=True, help="Write --find-links lines.")
    no_emit_package: tuple[str, ...] = _s((), flags=("--no-emit-package",), config=True, help=f"Leave this package out of the output {_MANY}.")
    unsafe_package: tuple[str, ...] = _s((), flags=("--unsafe-package",), help=f"pip-compile's: list this package commented out in a block of packages 'considered to be unsafe' {_MANY}.")
    allow_unsafe: bool | None = _s(flags=("--allow-unsafe/--no-allow-unsafe",), help="pip-compile's: pin the --unsafe-package packages in their block (xv pins every other package anyway).")
    # modes
    dry_run: bool = _s(False, flags=("--dry-run",), help="Print the result; write nothing.", sync=As(help="Print what would change; change nothing. Fails where a sync would, short of downloading."))
    check: bool = _s(False, flags=("--check",), help="Write nothing; exit 1 with a diff if -o FILE is out of date (2 if missing).", sync=As(help="Change nothing; exit 1 and print the differences if the environment differs."))
    strict: bool = _s(False, flags=("--strict",), help="After syncing, check every installed package's requirements are met (as pip check); exit 1 naming the broken ones.")
    download_only: str | None = _s(flags=("--download-only",), metavar="DIR", directory=True, help="Download and verify every file the files pin for the target into DIR (a wheelhouse for --offline --no-index --find-links DIR); change no environment.")
    force: bool = _s(False, flags=("--force",), help="Do not wait for other xv processes using the cache.")
    no_config: bool = _s(False, flags=("--no-config",), env="XV_NO_CONFIG", help="Ignore xv.toml and [tool.xv].", cache=As(help="Ignore xv.toml and [tool.xv] in pyproject.toml.", env_note=False))
    quiet: int = _s(0, flags=("-q", "--quiet"), count=True, help="Print less.", cache=As(help="Print less (status lines go)."))
    verbose: int = _s(0, flags=("-v", "--verbose"), count=True, help="Print more.")
    color: Color | None = _s(flags=("--color",), help="Colour in messages (default: auto).")
    # pip-compile's own options: a warning or a refusal, as uv answers them
    pip_args: str | None = _s(flags=("--pip-args",), hidden=True)
    resolver: Literal["backtracking", "legacy"] | None = _s(flags=("--resolver",), hidden=True)
    max_rounds: int | None = _s(flags=("--max-rounds",), hidden=True)
    reuse_hashes: bool | None = _s(flags=("--reuse-hashes/--no-reuse-hashes",), hidden=True)
    emit_trusted_host: bool | None = _s(flags=("--emit-trusted-host/--no-emit-trusted-host",), hidden=True)
    emit_options: bool | None = _s(flags=("--emit-options/--no-emit-options",), hidden=True)
    client_cert: str | None = _s(flags=("--client-cert",), hidden=True)
    config: str | None = _s(flags=("--config",), hidden=True)
    # fmt: on

    if not TYPE_CHECKING:  # at run time: no 75-parameter __init__ to compile at start-up

        def __init__(self, **values: Any) -> None:
            unknown = values.keys() - _DEFAULTS.keys()
            if unknown:
                raise TypeError(f"Settings() got unknown settings: {', '.join(sorted(unknown))}")
            for name, default in _DEFAULTS.items():
                object.__setattr__(self, name, values.get(name, default))


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}


# The options of each command, in the order --help lists them (xv-compile: the table's order).
SYNC_OPTIONS = (
    "python", "target", "prefix", "python_version", "python_platform", "system",
    "break_system_packages", "dry_run", "check", "strict", "download_only", "reinstall",
    "reinstall_package", "link_mode", "compile_bytecode", "require_hashes", "only_binary",
    "no_binary", "no_build", "no_build_isolation", "build_constraint", "config_setting",
    "no_build_package", "allow_empty_requirements", "exclude_newer", "index_url",
    "extra_index_url", "find_links", "no_index", "index_strategy", "allow_insecure_host",
    "keyring_provider", "cache_dir", "no_cache", "refresh", "offline", "no_config", "quiet",
    "verbose", "color",
)  # fmt: skip
CACHE_OPTIONS = ("cache_dir", "no_config", "quiet")  # every `xv cache` command's
_NOT_COMPILE = frozenset(
    ("system", "break_system_packages", "reinstall", "reinstall_package", "link_mode",
     "compile_bytecode", "require_hashes", "allow_empty_requirements", "target", "prefix",
     "strict", "download_only", "force")
)  # fmt: skip


@record
class Entry:
    """One row of the registry: a setting with its name, type and spellings."""

    name: str
    kind: Kind
    choices: tuple[str, ...]
    default: Value
    spec: Spec

    @property
    def config_key(self) -> str | None:
        """Its key in xv.toml and ``[tool.xv]`` (uv's spelling), if config files may set it."""
        return self.name.replace("_", "-") if self.spec.config else None

    def _as(self, command: Command) -> As:
        spelled = {"xv-sync": self.spec.sync, "xv cache": self.spec.cache}.get(command)
        return spelled or As()

    def flags_for(self, command: Command) -> tuple[str, ...]:
        return self._as(command).flags or self.spec.flags

    def metavar_for(self, command: Command) -> str | None:
        return self._as(command).metavar or self.spec.metavar

    def help_for(self, command: Command) -> str:
        spelled = self._as(command)
        text = spelled.help or self.spec.help
        if self.spec.env is None or not spelled.env_note:
            return text
        how = "" if self.kind != "list" else (", comma" if self.spec.env_separator else ", space")
        return f"{text} [env: {self.spec.env}{how}{' separated' if how else ''}]"


@cache
def entries() -> tuple[Entry, ...]:
    """Every setting, in declaration order."""
    return tuple(
        Entry(f.name, *_kind(f.type), _default(f), f.metadata["xv"])
        for f in dataclasses.fields(Settings)
    )


def _default(f: dataclasses.Field[Any]) -> Value:
    default: Value = f.default  # type: ignore[assignment]  # every field has a plain default
    return default


def entry(name: str) -> Entry:
    return by_name()[name]


@cache
def by_name() -> Mapping[str, Entry]:
    return types.MappingProxyType({e.name: e for e in entries()})


def command_entries(command: Command) -> Iterator[Entry]:
    """The options of ``xv-compile``, ``xv-sync`` or every ``xv cache`` command (not the
    positional argument; ``--force`` is ``xv cache clean``'s and ``prune``'s own)."""
    if command != "xv-compile":
        yield from map(entry, SYNC_OPTIONS if command == "xv-sync" else CACHE_OPTIONS)
        return
    yield from (e for e in entries() if not e.spec.argument and e.name not in _NOT_COMPILE)


def layered() -> Iterator[Entry]:
    """Settings that config files and ``XV_*`` variables may also give."""
    return (e for e in entries() if e.spec.config)


def _kind(hint: Any) -> tuple[Kind, tuple[str, ...]]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if args and typing.get_origin(hint) in (Union, types.UnionType) else hint
    if typing.get_origin(base) is Literal:
        return "choice", tuple(typing.get_args(base))
    if typing.get_origin(base) is tuple:
        return "list", ()
    simple: dict[Any, Kind] = {bool: "bool", str: "str", int: "int"}
    return simple[base], ()


def from_values(values: Mapping[str, Any]) -> Settings:
    """Typed settings from values by name (click's parameters); unknown names are an error."""
    return Settings(**values)


def layer(cli: Settings, below: Mapping[str, Any]) -> Settings:
    """``cli`` where given (not ``None``, not an empty tuple), else the values ``below`` (the
    environment over the config file, already validated against this registry)."""
    unset = {
        name: value
        for name, value in below.items()
        if getattr(cli, name) is None or getattr(cli, name) == ()
    }
    return dataclasses.replace(cli, **unset)


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


def parse_exclude_newer(text: str | None) -> datetime | None:
    """``--exclude-newer`` takes an RFC 3339 timestamp or a date (end of that day, UTC)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid --exclude-newer {text!r}: expected a date (2024-03-25) "
            "or a timestamp (2024-03-25T00:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
