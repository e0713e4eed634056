"""The ``xv-compile`` use case: options in, :class:`Resolution` out.

No printing and no file writing here: the CLI renders and writes. Progress is
reported through an optional callback so the CLI decides what a terminal shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.cache import Cache
from xv.compile_options import CompileOptions, InputRequirement
from xv.errors import UsageError, XvError
from xv.index.client import IndexClient
from xv.pool import WorkerPool
from xv.resolver import provider as prov
from xv.resolver.candidates import BinaryPolicy
from xv.resolver.resolve import run
from xv.resolver.result import Parent, Resolution
from xv.resolver.source import IndexSource
from xv.resolver.target import make_target

Progress = Callable[[int], None]


def compile(opts: CompileOptions, progress: Progress | None = None) -> Resolution:  # noqa: A001
    """Resolve the inputs of ``opts`` against its indexes."""
    settings = opts.resolver
    target = make_target(settings.python_version, settings.python_platform)
    cache = Cache.default(opts.cache.cache_dir, opts.cache.no_cache)
    client = IndexClient(opts.index, cache)
    with WorkerPool() as pool:
        provider = prov.PythonProvider(
            inputs=_resolver_inputs(opts),
            settings=_resolver_settings(opts),
            target=target,
            source=IndexSource(client, pool),
            progress=progress,
        )
        return run(provider)


def _resolver_settings(opts: CompileOptions) -> prov.ResolverSettings:
    s = opts.resolver
    return prov.ResolverSettings(
        prerelease=s.prerelease,
        resolution=s.resolution,
        exclude_newer=parse_exclude_newer(s.exclude_newer),
        binary=BinaryPolicy(s.only_binary, s.no_binary, s.no_build),
        no_deps=s.no_deps,
    )


def _resolver_inputs(opts: CompileOptions) -> prov.ResolverInputs:
    inputs = opts.inputs
    constraints = [
        *_convert(inputs.constraints),
        *_upgrade_constraints(opts.resolver.upgrade_packages),
    ]
    preferences: dict[str, Version] = {
        str(canonicalize_name(name)): Version(str(pin.version))
        for name, pin in opts.resolver.preferences.items()
        if getattr(pin, "version", None) is not None
    }
    return prov.ResolverInputs(
        requirements=_convert(inputs.requirements),
        constraints=constraints,
        overrides=_convert(inputs.overrides),
        preferences=preferences,
    )


def _convert(reqs: Sequence[InputRequirement]) -> list[prov.InputRequirement]:
    out = []
    for r in reqs:
        if r.requirement is None:
            origin = r.parsed.origin
            raise XvError(
                f"{origin}: {r.parsed.text!r} has no package name; unnamed paths and URLs "
                "need a build, which xv does not support yet"
            )
        out.append(prov.InputRequirement(r.requirement, r.parent or Parent("requirement", "-")))
    return out


def _upgrade_constraints(specs: Sequence[str]) -> list[prov.InputRequirement]:
    """``-P name<spec>`` both lifts the pin and restricts the package to ``spec``."""
    out = []
    for text in specs:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise UsageError(f"invalid --upgrade-package {text!r}: {exc}") from None
        if req.specifier:
            out.append(prov.InputRequirement(req, Parent("upgrade", text)))
    return out


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
