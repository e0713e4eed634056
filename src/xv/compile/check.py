"""``xv-compile --check`` without the network when nothing changed.

A lock is *fresh* when compiling its inputs, with its own pins as preferences, gives it back
(the header's command line aside). Pinned versions' metadata never changes, so once that has
been confirmed for a given set of inputs, settings, target and lock text, the answer stays
"fresh" for as long as none of them changes. :func:`is_fresh` answers in two cheap steps
before the CLI falls back to a normal resolution:

1. **The record.** Every confirmed answer (a ``--check`` that found the lock fresh, a run
   that wrote it) leaves a small entry in the ``check-v1`` cache bucket, keyed by a digest of
   everything that decides the output: xv's version, every input requirement with its source,
   the index, resolver and output settings, the target's markers and wheel tags, and the
   lock's text, every URL in them without its password or token (:func:`xv.urls.redact`),
   so a rotated password keeps the record and no digest of one is kept. A hit is answered without resolving. Any edit to an input or to the lock,
   another Python, another index: another key, so no answer from the record.
2. **The pins, from the cache.** Without a record (say the lock came with ``git pull``), the
   inputs are resolved offline, pages from the cache however old, each pinned package seeing
   only its pinned version's files (see :class:`xv.compile.run.PinnedSource`). When that gives
   the lock back, a normal resolution would too: every pin stays preferred and its
   metadata is what was cached. Any other outcome (something not cached, a conflict, other
   pins) proves nothing, and the caller resolves normally.

What neither step sees is what the index published after its pages were cached and that
would move a pin with the inputs unchanged: a pinned release yanked or removed, a wheel added
to a pinned version (which ``--generate-hashes`` would list), a final release where the lock
pins a pre-release. A normal run sees these once the cached pages expire; ``--refresh`` skips
both steps and looks at once, as do ``-U``, ``-P`` and ``--no-cache``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from xv import __version__, digests, lockfile
from xv.cache import Cache, CacheBucket
from xv.compile.options import CompileOptions, InputRequirement
from xv.env.target import Target, build_target
from xv.errors import XvError
from xv.fast import trace
from xv.lockfile import RenderOptions
from xv.urls import redact

if TYPE_CHECKING:
    from xv.resolver.result import Resolution

BUCKET = CacheBucket.CHECK


class CompileFn(Protocol):
    """What ``--check`` calls: :func:`xv.compile.compile` (or a test's stand-in). The
    resolver loads only when the record misses, hence ``Resolution`` for type checks only."""

    def __call__(
        self,
        opts: CompileOptions,
        progress: Callable[[int], None] | None = None,
        *,
        pinned_only: bool = False,
        target: Target | None = None,
    ) -> Resolution: ...


def is_fresh(
    opts: CompileOptions, current: str, compile_fn: CompileFn, target: Target | None = None
) -> bool:
    """True when the cache proves that compiling ``opts`` gives ``current`` back.

    ``compile_fn`` is :func:`xv.compile.compile` (taken as an argument so that importing the
    resolver waits until the record misses).
    """
    if not _eligible(opts):
        return False
    cache = _cache(opts)
    key = fingerprint(opts, current, cache, target)
    if key is not None and cache.bucket(BUCKET).get(key) is not None:
        trace.note("check")  # the console entry point may answer this run again (xv.fast)
        return True
    offline = _offline(opts)
    try:
        resolution = compile_fn(offline, pinned_only=True, target=target)
    except XvError:
        return False
    if not lockfile.same_lock(lockfile.render(resolution, opts.render, target), current):
        return False
    remember(opts, current, target)
    return True


def remember(opts: CompileOptions, text: str, target: Target | None = None) -> None:
    """Record that compiling ``opts`` gives ``text`` (a cache that cannot be written is
    only a slower next check)."""
    if opts.cache.no_cache:
        return
    cache = _cache(opts)
    try:
        key = fingerprint(opts, text, cache, target)
    except XvError:
        return
    if key is not None:
        cache.bucket(BUCKET).put(key, {"checked": time.time()})


def fingerprint(
    opts: CompileOptions, text: str, cache: Cache | None = None, target: Target | None = None
) -> str | None:
    """The record's key, or None when the inputs name local directories or ``file:``
    indexes, whose contents can change without any input changing."""
    index = opts.index
    locations = (*index.indexes, *index.find_links)
    if any(not loc.startswith(("http://", "https://")) for loc in locations):
        return None
    s = opts.resolver
    if target is None:
        target = build_target(s.python, s.python_version, s.python_platform, cache)
    material: dict[str, Any] = {
        "xv": __version__,
        "inputs": [
            [kind, *_requirement(item)]
            for kind, items in (
                ("r", opts.inputs.requirements),
                ("c", opts.inputs.constraints),
                ("o", opts.inputs.overrides),
            )
            for item in items
        ],
        "index": [index.indexes, index.find_links, index.index_strategy, index.trusted_hosts],
        "resolver": [
            s.prerelease,
            s.resolution,
            s.universal,
            s.exclude_newer,
            s.no_deps,
            s.no_build,
            sorted(s.only_binary),
            sorted(s.no_binary),
        ],
        "target": [sorted(target.markers.items()), [str(t) for t in target.tag_priority]],
        "render": repr(_without_command_option(opts)),
        "lock": lockfile.without_command(text),
    }
    # Index and input URLs may carry passwords or tokens: the key must not change when one
    # is rotated, nor be a digest of one, so every URL in the material is redacted first.
    blob = redact(json.dumps(material, sort_keys=True, default=str)).encode()
    return digests.sha256(blob).hexdigest()


def _requirement(item: InputRequirement) -> list[Any]:
    parsed = item.parsed
    parent = item.parent
    return [
        str(parsed.requirement) if parsed.requirement is not None else parsed.text,
        parsed.url,
        parsed.editable,
        [parent.kind, parent.name] if parent is not None else None,
    ]


def _without_command_option(opts: CompileOptions) -> RenderOptions:
    return dataclasses.replace(opts.render, command="")


def _eligible(opts: CompileOptions) -> bool:
    """Whether the cache may answer: not when asked to look again or to move pins."""
    s = opts.resolver
    return not (opts.cache.no_cache or opts.index.refresh or s.upgrade or s.upgrade_packages)


def _cache(opts: CompileOptions) -> Cache:
    return Cache.default(opts.cache.cache_dir, opts.cache.no_cache)


def _offline(opts: CompileOptions) -> CompileOptions:
    return dataclasses.replace(opts, index=dataclasses.replace(opts.index, offline=True))
