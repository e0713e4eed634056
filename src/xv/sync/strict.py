"""``xv-sync --strict``: are the requirements of every installed distribution met?

What ``pip check`` does, with two differences: markers are evaluated for the synced
environment's interpreter (not the one running xv), and extras count: when one
installed distribution requires ``dep[x]``, the requirements ``dep`` declares for
extra ``x`` must be met too (pip check ignores them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from xv.env.installed import InstalledDist, metadata_headers


@dataclass(frozen=True, order=True)
class Broken:
    """One requirement of an installed distribution that the environment does not meet."""

    name: str  # the requiring distribution, as its METADATA spells it
    version: str
    requirement: str
    found: str | None  # the installed version of the required project, None when absent

    def render(self) -> str:
        """pip check's wording."""
        if self.found is None:
            return (
                f"{self.name} {self.version} requires {self.requirement}, which is not installed."
            )
        dep = Requirement(self.requirement).name
        return (
            f"{self.name} {self.version} has requirement {self.requirement}, "
            f"but you have {dep} {self.found}."
        )


def requires_dist(dist: InstalledDist) -> list[Requirement]:
    """The ``Requires-Dist`` of a ``.dist-info`` (egg-info is not read: pip-era installs
    keep requirements in ``requires.txt``, which a sync never writes); bad lines skipped."""
    if dist.is_egg_info:
        return []
    try:
        headers = metadata_headers(dist.dist_info_path / "METADATA")
    except OSError:
        return []
    out = []
    for key, value in headers:
        if key == "requires-dist":
            try:
                out.append(Requirement(value))
            except InvalidRequirement:
                continue
    return out


def broken_requirements(
    installed: Mapping[str, InstalledDist], markers: Mapping[str, str]
) -> list[Broken]:
    """Every unmet requirement, sorted; extras requested anywhere are followed to a fixpoint."""
    requires = {name: requires_dist(dist) for name, dist in installed.items()}
    extras: dict[str, set[str]] = {name: {""} for name in installed}
    checked: set[tuple[str, str]] = set()
    broken: set[Broken] = set()
    todo = [(name, "") for name in installed]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in checked:
            continue
        checked.add((name, extra))
        dist = installed[name]
        for req in requires[name]:
            if not _applies(req.marker, markers, extra):
                continue
            dep = canonicalize_name(req.name)
            found = installed.get(dep)
            if found is None or not req.specifier.contains(found.version, prereleases=True):
                text = str(Requirement(str(req).split(";", 1)[0]))  # the marker is not shown
                broken.add(Broken(dist.name, dist.version, text, found.version if found else None))
                continue
            for wanted in req.extras:
                extra_name = canonicalize_name(wanted)
                if extra_name not in extras[dep]:
                    extras[dep].add(extra_name)
                    todo.append((dep, extra_name))
    return sorted(broken)


def _applies(marker: Marker | None, markers: Mapping[str, str], extra: str) -> bool:
    if marker is None:
        return extra == ""  # an unconditional requirement belongs to the base, checked once
    if extra and "extra" not in str(marker):
        return False  # likewise a marker that does not name an extra
    return marker.evaluate({**markers, "extra": extra})
