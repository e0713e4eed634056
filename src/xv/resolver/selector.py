"""Choosing one version of a project from a range: the candidate selector.

The policy (pre-releases, yanked files, a preferred pin, highest or lowest) is
fixed per project for a whole resolution, so it is worked out once; a selection
then walks the candidates in preference order and stops at the first that fits,
which matters when the solver asks thousands of times about a project whose
newest versions were all rejected (boto3 and botocore under an old urllib3).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence

from packaging.version import Version

from xv.records import record
from xv.resolver.candidates import Candidate, Candidates, candidate_versions
from xv.resolver.pubgrub import Range

ALWAYS, NEVER, IF_NECESSARY = "always", "never", "if-necessary"


def prerelease_rule(mode: str, explicit: bool) -> str:
    """When pre-releases of a project may be chosen, for uv's pre-release ``mode``.

    >>> prerelease_rule("if-necessary-or-explicit", explicit=True)
    'always'
    >>> prerelease_rule("explicit", explicit=False)
    'never'
    """
    if mode == "allow" or (explicit and mode in ("explicit", "if-necessary-or-explicit")):
        return ALWAYS
    if mode == "disallow" or mode == "explicit":
        return NEVER
    return IF_NECESSARY  # only when no stable version is in range


@record
class SelectionPolicy:
    """Which of a package's versions may be chosen, and which first."""

    prerelease: str = IF_NECESSARY  # ALWAYS, NEVER or IF_NECESSARY
    allow_yanked: bool = False  # pinned with == in the inputs
    lowest: bool = False
    preferred: Version | None = None


class CandidateSelector:
    """Picks versions of one project from its candidates (newest first, as built).

    Only the versions are looked at up front: a candidate is judged (lazily, see
    :class:`~xv.resolver.candidates.Candidates`) when a selection reaches it.
    """

    def __init__(self, candidates: Sequence[Candidate], policy: SelectionPolicy) -> None:
        if not isinstance(candidates, Candidates):
            candidates = sorted(candidates, key=lambda c: c.version, reverse=True)
        self.policy = policy
        self._newest_first = candidates
        self._versions = candidate_versions(candidates)[::-1]  # ascending, usable or not
        self._preferred: Candidate | None = None
        if policy.preferred is not None:
            i = bisect_left(self._versions, policy.preferred)
            if i < len(self._versions) and self._versions[i] == policy.preferred:
                found = self._at(i)
                self._preferred = found if found.excluded is None else None

    def _at(self, ascending_index: int) -> Candidate:
        return self._newest_first[len(self._versions) - 1 - ascending_index]

    def select(self, rng: Range[Version]) -> Candidate | None:
        """The candidate to try in ``rng``, or None when no candidate may be chosen."""
        pref = self._preferred
        if pref is not None and rng.contains(pref.version) and self._allowed(pref, rng):
            return pref
        rule = self.policy.prerelease
        any_stable = False
        first_pre: Candidate | None = None
        for c in self.compatible(rng):
            if c.version.is_prerelease:
                if rule == ALWAYS and self.unyanked(c):
                    return c
                if rule == IF_NECESSARY and first_pre is None and self.unyanked(c):
                    first_pre = c
                continue
            if self.unyanked(c):
                return c
            any_stable = True
        return first_pre if rule == IF_NECESSARY and not any_stable else None

    def compatible(self, rng: Range[Version]) -> Iterator[Candidate]:
        """Usable candidates in ``rng``, in preference order (policy not applied)."""
        for i in self._in_range(rng):
            c = self._at(i)
            if c.excluded is None:
                yield c

    def passed_over(
        self, rng: Range[Version], chosen: Candidate | None, pre_ok: bool
    ) -> Candidate | None:
        """The first candidate in ``rng``, in preference order, that ranks before
        ``chosen`` (anywhere in ``rng`` when None) and cannot be used at all; a
        pre-release only when ``pre_ok``. Only the versions up to ``chosen`` are judged
        (the ones :meth:`select` judged on its way to it), and a pre-release not at all
        when it would not count."""
        lowest = self.policy.lowest
        for i in self._in_range(rng):
            version = self._versions[i]
            if chosen is not None and (
                version > chosen.version if lowest else version < chosen.version
            ):
                return None
            if not pre_ok and version.is_prerelease:
                continue
            c = self._at(i)
            if c.excluded is not None:
                return c
        return None

    def _in_range(self, rng: Range[Version]) -> Iterator[int]:
        """Ascending indices of the versions in ``rng``, in preference order, usable or not.

        Each interval of the range is located in the sorted versions by bisection,
        so versions above a range that excludes the newest hundreds cost nothing.
        """
        segments = rng.segments if self.policy.lowest else reversed(rng.segments)
        vs = self._versions
        for lo, lo_inc, hi, hi_inc in segments:
            start = 0 if lo is None else (bisect_left if lo_inc else bisect_right)(vs, lo)
            end = len(vs) if hi is None else (bisect_right if hi_inc else bisect_left)(vs, hi)
            yield from range(start, end) if self.policy.lowest else range(end - 1, start - 1, -1)

    def skipped(self, rng: Range[Version]) -> tuple[list[Version], list[Version]]:
        """Pre-releases and yanked versions in ``rng`` that the policy passed over."""
        cands = list(self.compatible(rng))
        pre: list[Version] = []
        if self.policy.prerelease == NEVER or (
            self.policy.prerelease == IF_NECESSARY
            and any(not c.version.is_prerelease for c in cands)
        ):
            pre = [c.version for c in cands if c.version.is_prerelease]
        yanked = [] if self.policy.allow_yanked else [c.version for c in cands if c.yanked]
        return pre, yanked

    def unyanked(self, c: Candidate) -> bool:
        """Whether ``c`` may be chosen as far as yanking goes."""
        return self.policy.allow_yanked or not c.yanked

    def _allowed(self, c: Candidate, rng: Range[Version]) -> bool:
        if not self.unyanked(c):
            return False
        if not c.version.is_prerelease or self.policy.prerelease == ALWAYS:
            return True
        if self.policy.prerelease == NEVER:
            return False
        return not any(not x.version.is_prerelease for x in self.compatible(rng))
