"""Requirements declared in a pyproject.toml: ``[project]`` dependencies, optional dependencies
(extras) and PEP 735 ``[dependency-groups]``.

Each requirement carries the label ``# via`` shows for it, as uv prints it:
``example (pyproject.toml)`` for the project's dependencies and extras,
``example (pyproject.toml:dev)`` for a dependency group. Errors are
:class:`~xv.errors.PyprojectError` naming the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from xv.errors import PyprojectError
from xv.records import record
from xv.reqfile.requirement import marker_problem
from xv.urls import url_problem


@record
class ProjectRequirement:
    """A requirement found in a pyproject.toml."""

    requirement: Requirement
    source: str  # the `# via` label
    file: str  # the pyproject.toml as given
    line: int  # best effort: the first line whose text contains the requirement, else 1
    group: str | None = None  # the dependency group asked for (normalised), if from one


@record
class Pyproject:
    """The parts of a pyproject.toml xv reads."""

    path: str  # as given
    text: str
    data: Mapping[str, Any]

    @property
    def project(self) -> Mapping[str, Any]:
        project = self.data.get("project", {})
        if not isinstance(project, dict):
            raise PyprojectError("[project] must be a table", file=self.path)
        return project

    @property
    def name(self) -> str | None:
        name = self.project.get("name")
        return canonicalize_name(name) if isinstance(name, str) else None

    def label(self, group: str | None = None) -> str:
        where = self.path if group is None else f"{self.path}:{group}"
        return f"{self.name} ({where})" if self.name else f"({where})"


def load(path: str | Path) -> Pyproject:
    """Read and parse ``path``; a missing file or bad TOML is a :class:`PyprojectError`."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PyprojectError(f"cannot read the file: {exc.strerror or exc}", file=shown) from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        raise PyprojectError(f"cannot read the file: {reason}", file=shown) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PyprojectError(f"invalid TOML: {exc}", file=shown) from exc
    return Pyproject(shown, text, data)


def requirements(
    path: str | Path,
    *,
    extras: Iterable[str] = (),
    all_extras: bool = False,
    groups: Iterable[str] = (),
    include_project: bool = True,
) -> tuple[ProjectRequirement, ...]:
    """The requirements ``path`` declares for its dependencies (unless not ``include_project``),
    the given ``extras`` (or all of them) and the given dependency ``groups``."""
    doc = load(path)
    found: list[ProjectRequirement] = []
    if include_project:
        found += project_dependencies(doc, extras, all_extras)
    for group in groups:
        found += group_dependencies(doc, group)
    return tuple(found)


def has_dynamic_dependencies(path: str | Path) -> bool:
    """Whether ``[project]`` leaves its dependencies to the build backend (``dynamic``)."""
    doc = load(path)
    dynamic = doc.project.get("dynamic", []) if "project" in doc.data else []
    return isinstance(dynamic, list) and "dependencies" in dynamic


def project_dependencies(
    doc: Pyproject, extras: Iterable[str] = (), all_extras: bool = False
) -> list[ProjectRequirement]:
    """``[project].dependencies`` plus the requested extras' optional dependencies."""
    project = doc.project
    if "project" not in doc.data:
        raise PyprojectError("no [project] table", file=doc.path)
    if doc.name is None:
        raise PyprojectError("[project] has no name", file=doc.path)
    dynamic = project.get("dynamic", [])
    if "dependencies" in dynamic:
        raise PyprojectError(_dynamic("dependencies"), file=doc.path)
    optional = _optional_table(doc)
    wanted = list(optional) if all_extras else [canonicalize_name(e) for e in extras]
    if wanted and "optional-dependencies" in dynamic:
        raise PyprojectError(_dynamic("optional-dependencies"), file=doc.path)
    for extra in wanted:
        if extra not in optional:
            raise PyprojectError(f"requested extra not found: {extra}", file=doc.path)
    specs = list(_strings(project.get("dependencies", []), "[project].dependencies", doc))
    for extra in wanted:
        specs += _strings(optional[extra], f"[project.optional-dependencies].{extra}", doc)
    reqs = [_requirement(spec, doc) for spec in specs]
    expanded = _expand_self(reqs, doc, optional, set(wanted))
    return [_found(req, doc, None) for req in expanded]


def group_dependencies(doc: Pyproject, group: str) -> list[ProjectRequirement]:
    """The requirements of PEP 735 dependency group ``group``, following ``include-group``."""
    groups = _groups_table(doc)
    name = canonicalize_name(group)
    if name not in groups:
        raise PyprojectError(f"dependency group {group!r} is not defined", file=doc.path)
    specs = _group_specs(doc, groups, name, ())
    return [_found(_requirement(spec, doc), doc, name) for spec in specs]


def _group_specs(
    doc: Pyproject, groups: Mapping[str, list[Any]], name: str, chain: tuple[str, ...]
) -> list[str]:
    if name in chain:
        cycle = " -> ".join([*chain[chain.index(name) :], name])
        raise PyprojectError(f"dependency group {name!r} includes itself: {cycle}", file=doc.path)
    if name not in groups:
        raise PyprojectError(f"dependency group {name!r} is not defined", file=doc.path)
    specs: list[str] = []
    for item in groups[name]:
        if isinstance(item, str):
            specs.append(item)
        elif isinstance(item, dict) and set(item) == {"include-group"}:
            included = canonicalize_name(str(item["include-group"]))
            specs += _group_specs(doc, groups, included, (*chain, name))
        else:
            raise PyprojectError(
                f"invalid item in dependency group {name!r}: {item!r}", file=doc.path
            )
    return specs


def _groups_table(doc: Pyproject) -> dict[str, list[Any]]:
    table = doc.data.get("dependency-groups", {})
    if not isinstance(table, dict):
        raise PyprojectError("[dependency-groups] must be a table", file=doc.path)
    groups: dict[str, list[Any]] = {}
    for key, value in table.items():
        normal = canonicalize_name(key)
        if normal in groups:
            raise PyprojectError(f"duplicate dependency group {key!r}", file=doc.path)
        if not isinstance(value, list):
            raise PyprojectError(f"dependency group {key!r} must be a list", file=doc.path)
        groups[normal] = value
    return groups


def _optional_table(doc: Pyproject) -> dict[str, Any]:
    table = doc.project.get("optional-dependencies", {})
    if not isinstance(table, dict):
        raise PyprojectError("[project.optional-dependencies] must be a table", file=doc.path)
    return {canonicalize_name(k): v for k, v in table.items()}


def _strings(value: Any, where: str, doc: Pyproject) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PyprojectError(f"{where} must be a list of strings", file=doc.path)
    return value


def _requirement(spec: str, doc: Pyproject) -> Requirement:
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise PyprojectError(
            f"invalid requirement {spec!r}: {reason}", file=doc.path, line=_line_of(spec, doc)
        ) from None
    if req.marker is not None and (problem := marker_problem(req.marker)) is not None:
        reason = f"invalid marker '{req.marker}' in {spec!r}: {problem}"
        raise PyprojectError(reason, file=doc.path, line=_line_of(spec, doc))
    if req.url is not None and (problem := url_problem(req.url)) is not None:
        reason = f"invalid URL '{req.url}' in {spec!r}: {problem}"
        raise PyprojectError(reason, file=doc.path, line=_line_of(spec, doc))
    return req


def _expand_self(
    reqs: list[Requirement], doc: Pyproject, optional: Mapping[str, Any], seen: set[str]
) -> list[Requirement]:
    """Replace ``example[extra]`` in the project's own lists by that extra's dependencies."""
    out: list[Requirement] = []
    for req in reqs:
        if canonicalize_name(req.name) != doc.name:
            out.append(req)
            continue
        for extra in sorted(canonicalize_name(e) for e in req.extras):
            if extra in seen:
                continue
            if extra not in optional:
                raise PyprojectError(f"requested extra not found: {extra}", file=doc.path)
            seen.add(extra)
            where = f"[project.optional-dependencies].{extra}"
            inner = [_requirement(s, doc) for s in _strings(optional[extra], where, doc)]
            out += _expand_self([_with_marker(r, req) for r in inner], doc, optional, seen)
    return out


def _with_marker(inner: Requirement, outer: Requirement) -> Requirement:
    if outer.marker is None:
        return inner
    marker = str(outer.marker) if inner.marker is None else f"({inner.marker}) and ({outer.marker})"
    return Requirement(f"{str(inner).split(';')[0].strip()} ; {marker}")


def _found(req: Requirement, doc: Pyproject, group: str | None) -> ProjectRequirement:
    return ProjectRequirement(req, doc.label(group), doc.path, _line_of(str(req), doc), group)


def _line_of(spec: str, doc: Pyproject) -> int:
    name = re.split(r"[\s\[<>=!~;@(]", spec.strip(), maxsplit=1)[0]
    for number, line in enumerate(doc.text.splitlines(), start=1):
        if re.search(rf"[\"']\s*{re.escape(name)}", line, re.IGNORECASE):
            return number
    return 1


def _dynamic(field: str) -> str:
    return f"{field} are dynamic; building the project to find them is not supported yet"
