"""Where a compiled file goes: written to ``-o FILE`` (and remembered for ``--check``), or
compared with it (``--check``). Printing and exit codes are the CLI's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xv import atomic, lockfile
from xv.cache import Cache
from xv.compile import check as compile_check
from xv.compile.check import CompileFn
from xv.compile.options import CompileOptions
from xv.env.target import Target, build_target
from xv.errors import InputError, OutputError


def target_of(opts: CompileOptions) -> Target:
    """The target, once per command and passed down (``-p`` runs a probe)."""
    s = opts.resolver
    cache = Cache.default(opts.cache.cache_dir, opts.cache.no_cache)
    return build_target(s.python, s.python_version, s.python_platform, cache)


def read_output(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def write_output(opts: CompileOptions, path: str, text: str, target: Target | None) -> None:
    """Write the compiled file with :mod:`xv.atomic` (replaced atomically, through a symlink
    to its target, in place when it is a FIFO or a device; an existing lock survives any
    failure), and remember that ``opts`` compile to it."""
    try:
        atomic.write_atomic(path, text.encode("utf-8"), durable=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    compile_check.remember(opts, text, target)


def check_output(
    opts: CompileOptions,
    path: str,
    target: Target,
    compile_fn: CompileFn,
    compiled_text: Callable[[], str],
) -> str | None:
    """``--check``: None when ``path`` is what compiling would write (the header's command
    line aside), else a unified diff. The cache answers the unchanged case when it can
    (:func:`xv.compile.check.is_fresh`); else ``compiled_text()`` compiles and renders."""
    current = read_output(path)
    if compile_check.is_fresh(opts, current, compile_fn, target):
        return None
    text = compiled_text()
    if lockfile.same_lock(current, text):
        compile_check.remember(opts, text, target)
        return None
    import difflib  # imported here: an up-to-date check never needs it

    return "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{path} (current)",
            tofile=f"{path} (compiled)",
        )
    )
