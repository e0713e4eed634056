"""An in-memory dependency provider for solver tests (like pubgrub-rs's
OfflineDependencyProvider): packages with fewer candidate versions go first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from xv.resolver.pubgrub import DependencyProvider, Range, Unavailable
from xv.resolver.specifiers import specifier_to_range


class OfflineProvider(DependencyProvider[Any, Any]):
    def __init__(self) -> None:
        self.index: dict[Any, dict[Any, Mapping[Any, Range[Any]] | Unavailable]] = {}
        self.conflicts: dict[Any, int] = {}
        self.calls: list[tuple[Any, Any]] = []

    def add(self, package: Any, version: Any, deps: Mapping[Any, Range[Any]] | None = None) -> None:
        self.index.setdefault(package, {})[version] = dict(deps or {})

    def add_unavailable(self, package: Any, version: Any, reason: str) -> None:
        self.index.setdefault(package, {})[version] = Unavailable(reason)

    def versions(self, package: Any) -> list[Any] | None:
        if package not in self.index:
            return None
        return sorted(self.index[package])

    def prioritize(self, package: Any, range: Range[Any]) -> Any:
        count = sum(1 for v in self.index.get(package, ()) if range.contains(v))
        return (self.conflicts.get(package, 0), -count)

    def choose_version(self, package: Any, range: Range[Any]) -> Any:
        candidates = [v for v in self.index.get(package, ()) if range.contains(v)]
        return max(candidates) if candidates else None

    def get_dependencies(self, package: Any, version: Any) -> Any:
        self.calls.append((package, version))
        return self.index[package][version]

    def on_conflict(self, affected: Any, culprits: Sequence[Any]) -> None:
        self.conflicts[affected] = self.conflicts.get(affected, 0) + 1


class TwinProvider(OfflineProvider):
    """A package ``name+extra`` is the twin of ``name`` (an extra of a project): its
    versions are given with a dependency on ``name`` at the same version, and the solver
    is told so (``twin_of``)."""

    def twin_of(self, package: Any) -> Any:
        return package.split("+")[0] if isinstance(package, str) and "+" in package else None


def spec(text: str) -> Range[Version]:
    return specifier_to_range(SpecifierSet(text))


def caret(v: str) -> Range[Version]:
    """Dart's ``^1.2.3``: ``>=1.2.3,<2.0.0``."""
    lo = Version(v)
    return Range.between(lo, Version(f"{lo.major + 1}.0.0"))


def index_from(table: Mapping[str, Mapping[str, Mapping[str, Range[Version]]]]) -> OfflineProvider:
    """``{"foo": {"1.0.0": {"bar": caret("1.0.0")}}}`` -> a provider."""
    provider = OfflineProvider()
    for name, versions in table.items():
        for version, deps in versions.items():
            provider.add(name, Version(version), deps)
    return provider
