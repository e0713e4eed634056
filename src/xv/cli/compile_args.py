"""``xv-compile``'s options (derived from :mod:`xv.settings`) and pip-compile's leftovers.

Spellings follow ``uv pip compile``, with pip-compile's aliases (``--constraint``,
``--unsafe-package``, ``--trusted-host``, ``--pre``). pip-compile options that mean nothing
here are accepted with a warning or refused, with uv's wording. Options that config files or
the environment can also set default to ``None`` so that "not given" is visible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from xv import config
from xv.cli.output import Reporter
from xv.compile.configure import compile_options
from xv.compile.options import CompileOptions, Inputs
from xv.errors import UsageError
from xv.settings import Settings, binary_set


def check_pip_compile_options(s: Settings, reporter: Reporter) -> None:
    """Warn about pip-compile options that change nothing; refuse those xv cannot honour."""

    def ignored(flag: str, why: str) -> None:
        reporter.warn(f"pip-compile's `{flag}` has no effect ({why})")

    def refused(flag: str, why: str = "") -> UsageError:
        return UsageError(f"pip-compile's `{flag}` is unsupported" + (f" ({why})" if why else ""))

    if s.allow_unsafe is not None and not s.unsafe_package:
        flag = "--allow-unsafe" if s.allow_unsafe else "--no-allow-unsafe"
        ignored(flag, "xv can safely pin `pip` and other packages")
    if s.reuse_hashes:
        raise refused("--reuse-hashes", "xv doesn't reuse hashes")
    if s.reuse_hashes is False:
        ignored("--no-reuse-hashes", "xv doesn't reuse hashes")
    if s.resolver == "legacy":
        raise refused("--resolver=legacy", "xv always backtracks")
    if s.resolver == "backtracking":
        ignored("--resolver=backtracking", "xv always backtracks")
    if s.max_rounds is not None:
        raise refused("--max-rounds", "xv always resolves until convergence")
    if s.pip_args is not None:
        raise refused("--pip-args", "try passing arguments to xv directly")
    for value, flag, why in (
        (s.emit_trusted_host, "--emit-trusted-host", "trusted hosts"),
        (s.emit_options, "--emit-options", "options"),
    ):
        if value:
            raise refused(flag)
        if value is False:
            ignored(flag.replace("--", "--no-", 1), f"xv never emits {why}")
    if s.client_cert is not None:
        raise refused("--client-cert", "xv doesn't support dedicated client certificates")
    if s.config is not None:
        raise refused("--config", "xv reads ./xv.toml or [tool.xv] in ./pyproject.toml")


def build_options(
    cli: Settings,
    loaded: config.Loaded,
    argv: Sequence[str],
    stdin: Callable[[], str],
    warn: Callable[[str], None] = lambda message: None,
    note: Callable[[str], None] = lambda message: None,
) -> CompileOptions:
    """The command line over the environment and config files (``--pre`` is
    ``--prerelease allow``), then the use case reads the inputs."""
    if cli.pre and cli.prerelease is None:
        cli = dataclasses.replace(cli, prerelease="allow")
    return compile_options(loaded.under(cli), argv, stdin, warn, note)


__all__ = [
    "Inputs",
    "binary_set",
    "build_options",
    "check_pip_compile_options",
]
