"""Guessing ahead of the solver: what it will ask next, fetched before it asks.

The provider answers the solver; this runs ahead of it. When the solver meets
dependencies, their pages are queued, then the metadata of each one's likely pick
(what the selector would choose in the range met), then the same for what those
picks declare, level after level as the answers arrive (the source reports them
through ``finished``; :meth:`Guesser.pump` takes them in, also while the solver
waits). A pick that is an sdist may be built in the background by a source that
builds, when it is a pick of dependencies just met or a lock's pin. Projects whose
versions keep being rejected get uv's batch prefetch (:mod:`xv.resolver.prefetch`).

Guesses only cost a fetch: a wrong one is never used, a failed one is fetched
again when the solver needs it, and its error is reported then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from packaging.version import Version

from xv.errors import NetworkError
from xv.index.metadata import CoreMetadata
from xv.resolver.candidates import Candidate
from xv.resolver.prefetch import BatchPrefetcher, next_candidates
from xv.resolver.pubgrub import Range, Unavailable

if TYPE_CHECKING:
    from xv.resolver.provider import PyPackage, PythonProvider


class Guesser:
    """The provider's guesses: pages and metadata queued on its source ahead of the solver."""

    def __init__(self, provider: PythonProvider) -> None:
        self.provider = provider
        self.source = provider.source
        self.batches = BatchPrefetcher()
        # Guesses under way: (package, range, depth) waiting for a page, by name, and
        # (package, candidate, depth) waiting for metadata, by URL.
        self._want_page: dict[str, list[tuple[PyPackage, Range[Version], int]]] = {}
        self._want_meta: dict[str, list[tuple[PyPackage, Candidate, int]]] = {}
        self._guessed: set[tuple[PyPackage, Version]] = set()
        self._pumping = False
        self.source.while_waiting = self.pump  # guess on while the solver waits

    def dependencies(self, deps: Mapping[PyPackage, Range[Version]], depth: int = 0) -> None:
        """Dependencies met (``depth`` 0: by the solver; deeper: by a guess; -1: a lock's
        pins): queue their pages, and guess their picks as far as the pages are known."""
        known = self.provider.known_pages
        self.source.prefetch_pages((p.name for p in deps if p.name not in known), depth)
        for pkg, rng in deps.items():
            if pkg.name in known:
                self._guess(pkg, rng, depth)
            else:
                self._want_page.setdefault(pkg.name, []).append((pkg, rng, depth))

    def version_tried(self, name: str, rng: Range[Version], chosen: Version) -> None:
        """uv's batch prefetch for projects whose versions keep being rejected."""
        self.batches.version_tried(name, chosen)
        limit = self.batches.due(name)
        if limit:
            provider = self.provider
            bound = provider.input_range(name)
            cands = next_candidates(provider.selector(name), rng, chosen, bound, limit)
            meta = provider.known_metadata
            self.source.prefetch_metadata(
                (c for c in cands if c.metadata_file and c.metadata_file.url not in meta), -1
            )

    def pump(self) -> None:
        """Take in the guesses that have arrived and queue the next level from them."""
        if self._pumping:
            return  # called again from a wait inside: the outer call takes the rest
        self._pumping = True
        try:
            self._take_arrivals()
        finally:
            self._pumping = False

    def _guess(self, pkg: PyPackage, rng: Range[Version], depth: int) -> None:
        provider = self.provider
        if not provider.exists(pkg.name):
            return
        cand = provider.selector(pkg.name).select(rng)
        if cand is None or cand.metadata_file is None or (pkg, cand.version) in self._guessed:
            return
        self._guessed.add((pkg, cand.version))
        url = cand.metadata_file.url
        meta = provider.known_metadata
        if url not in meta and not cand.metadata_file.is_wheel:
            self._guess_sdist(cand, depth)
        if url in meta:
            self._expand(pkg, cand, depth)
            return
        self._want_meta.setdefault(url, []).append((pkg, cand, depth))
        if cand.metadata_file.is_wheel:
            self.source.prefetch_metadata([cand], depth)

    def _guess_sdist(self, cand: Candidate, depth: int) -> None:
        """An sdist pick: a source that builds may prepare it in the background (it then
        arrives as any guess does) when it is a pick of dependencies just met (depth 0) or
        a lock's pin (-1); guesses further ahead take only what the cache knows. A failed
        guess is left for the solver's own request to report."""
        try:
            self.provider.known_metadata.update(self.source.prefetch([cand], builds=depth <= 0))
        except NetworkError:
            pass

    def _expand(self, pkg: PyPackage, cand: Candidate, depth: int) -> None:
        """Guess on with what a guessed pick declares, as far as its metadata is known."""
        from xv.resolver.provider import DirectUrlUnsupported  # the provider imports this module

        file = cand.metadata_file
        meta = self.provider.known_metadata.get(file.url) if file else None
        if not isinstance(meta, CoreMetadata):
            return
        try:
            deps = self.provider.package_dependencies(pkg, cand.version, meta)
        except DirectUrlUnsupported:
            return  # reported when the solver gets there
        if not isinstance(deps, Unavailable):
            self.dependencies(deps, depth + 1)

    def _take_arrivals(self) -> None:
        names, urls = self.source.finished()
        if names:
            self.provider.ensure_pages(names)  # arrived: no waiting
            for name in names:
                for pkg, rng, depth in self._want_page.pop(name, ()):
                    self._guess(pkg, rng, depth)
        meta = self.provider.known_metadata
        for url in urls:
            waiting = self._want_meta.pop(url, None)
            if not waiting:
                continue
            if url not in meta:
                meta.update(self.source.metadata([waiting[0][1]]))
            for pkg, cand, depth in waiting:
                self._expand(pkg, cand, depth)
