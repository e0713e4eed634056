"""The ``xv-compile`` use case: options in, :class:`Resolution` out.

No printing and no file writing here: the CLI renders and writes. Progress is
reported through an optional callback so the CLI decides what a terminal shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xv.build.context import BuildContext
from xv.build.settings import BuildSettings
from xv.build.source import BuildingSource
from xv.cache import Cache
from xv.compile.direct import project_requirements, resolve_direct
from xv.compile.options import CompileOptions, InputRequirement
from xv.env.target import Target, build_target
from xv.errors import InputError, UsageError
from xv.index.client import IndexClient
from xv.index.filenames import file_version
from xv.index.pageform import files_of_version
from xv.index.simple import ProjectPage
from xv.pool import WorkerPool
from xv.resolver import provider as prov
from xv.resolver.candidates import BinaryPolicy
from xv.resolver.resolve import run
from xv.resolver.result import Parent, Resolution, ResolvedDist
from xv.resolver.specifiers import specifier_to_range
from xv.settings import parse_exclude_newer

if TYPE_CHECKING:  # the builder loads when a build needs it (xv.build.context)
    from xv.build.builder import Builder

Progress = Callable[[int], None]

# Parent kinds the resolver needs (every input names where it came from) but `# via` leaves
# out, as uv does: requirements read from stdin, and `-P name<spec>` restrictions.
_UNNAMED = "stdin"
_UPGRADE = "upgrade"
_HIDDEN = frozenset({_UNNAMED, _UPGRADE})


def compile(  # noqa: A001
    opts: CompileOptions,
    progress: Progress | None = None,
    *,
    pinned_only: bool = False,
    target: Target | None = None,
) -> Resolution:
    """Resolve the inputs of ``opts`` against its indexes.

    With ``pinned_only`` the resolver sees, of every package the preferences pin to a final
    release, only the files of that version: the quick way to ask "do the existing pins still
    resolve?" (a different answer only means "resolve properly"). ``target`` is the command's
    target (:func:`xv.env.target.build_target`), built here when not given.
    """
    cache = Cache.default(opts.cache.cache_dir, opts.cache.no_cache)
    client = IndexClient(opts.index, cache)
    with BuildContext(client, _build_settings(opts), python=opts.resolver.python) as ctx:
        if opts.resolver.universal:
            from xv.compile.universal import compile_universal

            inputs = _resolver_inputs(opts, None, ctx)
            settings = _resolver_settings(opts)
            universal = compile_universal(
                opts, client, inputs, settings, progress, lambda: ctx.builder
            )
            return _tidy(universal)
        if target is None:
            s = opts.resolver
            target = build_target(s.python, s.python_version, s.python_platform, cache)
        inputs = _resolver_inputs(opts, target, ctx)
        with WorkerPool() as pool:
            source = (
                PinnedSource(client, pool, lambda: ctx.builder, inputs.preferences)
                if pinned_only
                else BuildingSource(client, pool, lambda: ctx.builder)
            )
            provider = prov.PythonProvider(
                inputs=inputs,
                settings=_resolver_settings(opts),
                target=target,
                source=source,
                progress=progress,
            )
            return _tidy(run(provider))


def _resolver_settings(opts: CompileOptions) -> prov.ResolverSettings:
    s = opts.resolver
    return prov.ResolverSettings(
        prerelease=s.prerelease,
        resolution=s.resolution,
        exclude_newer=parse_exclude_newer(s.exclude_newer),
        # --no-build-package NAME leaves NAME's sdists out, as --only-binary NAME does.
        binary=BinaryPolicy(s.only_binary | s.build.no_build_packages, s.no_binary, s.no_build),
        no_deps=s.no_deps,
    )


def _build_settings(opts: CompileOptions) -> BuildSettings:
    s = opts.resolver
    no_build = {canonicalize_name(n) for n in s.build.no_build_packages}
    return dataclasses.replace(
        s.build,
        no_build=s.no_build or s.build.no_build,
        no_build_packages=frozenset(no_build),
        only_binary=s.only_binary,
        no_binary=s.no_binary,
    )


def _resolver_inputs(
    opts: CompileOptions, target: Target | None, ctx: BuildContext
) -> prov.ResolverInputs:
    inputs = opts.inputs
    out_dir = Path(opts.output.output_file or "-").absolute().parent
    applying = [c for c in inputs.constraints if _constraint_applies(c, target)]
    everything = [*inputs.requirements, *applying, *inputs.overrides]
    # PEP 751 requires the hashes of an archive: a pylock.toml needs them as --generate-hashes does.
    hashes = opts.render.generate_hashes or opts.render.format == "pylock.toml"
    replaced, direct = resolve_direct(everything, target, ctx, out_dir, hashes)
    built = project_requirements(
        inputs.build_projects, inputs.extras, inputs.all_extras, target, ctx
    )
    constraints = [
        *_convert(applying, replaced),
        *_upgrade_constraints(opts.resolver.upgrade_packages),
    ]
    preferences: dict[str, Version] = {
        str(canonicalize_name(name)): Version(str(pin.version))
        for name, pin in opts.resolver.preferences.items()
        if getattr(pin, "version", None) is not None
    }
    return prov.ResolverInputs(
        requirements=[
            *_convert(inputs.requirements, replaced),
            *(prov.InputRequirement(req, parent) for req, parent in built),
        ],
        constraints=constraints,
        overrides=_convert(inputs.overrides, replaced),
        preferences=preferences,
        direct=direct,
    )


def _constraint_applies(item: InputRequirement, target: Target | None) -> bool:
    """A constraint without a version or URL, or whose marker is false for the target,
    changes nothing; uv then leaves it out of ``# via``, and so do we by dropping it.
    (A universal resolution has no target: its forks judge markers.)"""
    req = item.requirement
    if req is None:
        return True  # _convert reports it
    if not req.specifier and not req.url:
        return False
    if target is None:
        return True
    return req.marker is None or req.marker.evaluate({**target.markers, "extra": ""})


def _convert(
    reqs: Iterable[InputRequirement], replaced: Mapping[int, Requirement]
) -> list[prov.InputRequirement]:
    """Provider inputs; direct references as :func:`resolve_direct` named them."""
    out = []
    for r in reqs:
        req = replaced.get(id(r), r.requirement)
        if req is None:  # a direct reference whose marker excludes the target
            continue
        problem = _specifier_problem(req)
        if problem is not None:
            origin = r.parsed.origin
            raise InputError(f"{r.parsed.text!r}: {problem}", origin.file, origin.line)
        out.append(prov.InputRequirement(req, r.parent or Parent(_UNNAMED, "-")))
    return out


def _upgrade_constraints(specs: Sequence[str]) -> list[prov.InputRequirement]:
    """``-P name<spec>`` both lifts the pin and restricts the package to ``spec``."""
    out = []
    for text in specs:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise UsageError(f"invalid --upgrade-package {text!r}: {exc}") from None
        problem = _specifier_problem(req)
        if problem is not None:
            raise UsageError(f"invalid --upgrade-package {text!r}: {problem}")
        if req.specifier:
            out.append(prov.InputRequirement(req, Parent(_UPGRADE, text)))
    return out


def _specifier_problem(req: Requirement) -> str | None:
    """Why the resolver cannot use ``req``'s specifier (``===x`` with a non-PEP 440 ``x``)."""
    try:
        specifier_to_range(req.specifier)
    except ValueError as exc:
        return str(exc)
    return None


def _tidy(resolution: Resolution) -> Resolution:
    """Drop the parents ``# via`` must not name; spell each version as its files do.

    The version is written as its files write it (``cffi==2.0.0`` where the resolver chose a
    version equal to ``2``), as uv does.
    """
    return Resolution(tuple(_tidy_dist(d) for d in resolution.dists))


def _tidy_dist(dist: ResolvedDist) -> ResolvedDist:
    parents = frozenset(p for p in dist.parents if p.kind not in _HIDDEN)
    spelled = [v for f in dist.files if (v := file_version(dist.name, f.filename)) == dist.version]
    version = spelled[0] if spelled else dist.version
    return dataclasses.replace(dist, parents=parents, version=version)


class PinnedSource(BuildingSource):
    """Index pages holding, for each pinned package, only the pinned version's files.

    A pre-release pin keeps the whole page: whether a pre-release may be chosen depends on
    which final releases exist.
    """

    def __init__(
        self,
        client: IndexClient,
        pool: WorkerPool,
        builder: Callable[[], Builder],
        pins: Mapping[str, Version],
    ) -> None:
        super().__init__(client, pool, builder)
        self.pins = pins

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        pages = super().pages(names)
        return {name: self._narrow(name, page) for name, page in pages.items()}

    def _narrow(self, name: str, page: ProjectPage | None) -> ProjectPage | None:
        pin = self.pins.get(canonicalize_name(name))
        if page is None or pin is None or pin.is_prerelease:
            return page
        return dataclasses.replace(page, files=files_of_version(page, pin))
