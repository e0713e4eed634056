"""Batch prefetching of metadata for projects whose versions keep being rejected.

This is uv's ``BatchPrefetcher``. When the solver walks down the versions of a
project one at a time (boto3 and botocore under an old urllib3 try ~1500 versions
each), fetching each version's metadata only when it is tried makes the solver
wait on one request at a time. After 2, 5, 10 and 20 tried versions of a project,
and then whenever half of the last batch is used up, the metadata of its next
likely versions is fetched in one batch: first the remaining versions of the current range, then
the versions below (or above, for ``--resolution lowest``) the one just tried,
within the range the inputs allow. The guesses may be wrong; they only cost a
fetch, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from xv.resolver.candidates import Candidate
from xv.resolver.pubgrub import Range
from xv.resolver.selector import ALWAYS, CandidateSelector

MAX_BATCH = 200


class BatchPrefetcher:
    def __init__(self) -> None:
        self._tried: dict[str, set[Version]] = {}
        self._last: dict[str, int] = {}

    def version_tried(self, name: str, version: Version) -> None:
        self._tried.setdefault(name, set()).add(version)

    def tried(self, name: str) -> int:
        return len(self._tried.get(name, ()))

    def due(self, name: str) -> int:
        """How many versions of ``name`` to prefetch now (0: not yet).

        uv's schedule (after 5, 10 and 20 tried versions) to start early, then a
        batch whenever half of the previous one has been used up. uv fetches
        asynchronously and can afford small batches every 20 versions; our batches
        block the solver, so they grow (twice the versions tried, up to
        ``MAX_BATCH``) to pay the network's latency less often.

        And a first batch after 2 (the next 4 versions): a cold compile's request waits
        several times longer here than uv's, behind the other threads' turns of the
        interpreter lock, and a walk of 5 versions cost 4 of them one after the other.
        Airflow (cadwyn walks 6 versions) fetched 4 versions' metadata the solver had
        not guessed, one at a time, boto3 with urllib3<1.25.4 8; now 1 and 2, with the same
        requests in all (3 runs each).
        """
        tried = self.tried(name)
        last = self._last.get(name, 0)
        early = any(tried >= n > last for n in (2, 5, 10, 20))
        if early or (tried > 20 and tried - last >= min(2 * last, MAX_BATCH) // 2):
            self._last[name] = tried
            return min(2 * tried, MAX_BATCH)
        return 0


def next_candidates(
    selector: CandidateSelector,
    rng: Range[Version],
    previous: Version,
    bound: Range[Version],
    limit: int,
) -> list[Candidate]:
    """Up to ``limit`` candidates likely to be tried after ``previous``.

    ``rng`` is the project's current range and ``bound`` what the inputs allow at
    all (versions outside it will never be tried).
    """
    out: list[Candidate] = []
    seen: set[Version] = {previous}
    for c in _likely(selector, rng, previous, bound):
        if c.version not in seen and selector.unyanked(c):
            seen.add(c.version)
            out.append(c)
            if len(out) >= limit:
                break
    return out


def _likely(
    selector: CandidateSelector, rng: Range[Version], previous: Version, bound: Range[Version]
) -> Iterator[Candidate]:
    stable_only = selector.policy.prerelease != ALWAYS
    for c in selector.compatible(rng):
        if not (stable_only and c.version.is_prerelease):
            yield c
    # The current range is used up: assume the constraints that narrowed it go
    # away, and continue in order past the version just tried.
    past = (
        Range.strictly_higher_than(previous)
        if selector.policy.lowest
        else Range.strictly_lower_than(previous)
    )
    for c in selector.compatible(past.intersection(bound)):
        if not (stable_only and c.version.is_prerelease):
            yield c
