"""Imports flow one way (README "Architecture"): every import in src/xv, including those
inside functions and under TYPE_CHECKING, is checked against the rules below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import xv

SRC = Path(xv.__file__).parent

# (importers, forbidden): modules under ``importers`` import nothing under ``forbidden``
# unless they are under it themselves (a package may import its own modules).
# ``xv.resolver.pubgrub`` imports only itself; ``install`` knows nothing of resolving;
# nothing but the CLI imports the CLI; the two use cases stay apart, and nothing below them
# imports either (``build`` serves both); the target layer (env) and the requirement-file
# readers sit below the index.
BELOW_USE_CASES = (
    "xv.resolver",
    "xv.index",
    "xv.install",
    "xv.env",
    "xv.reqfile",
    "xv.cache",
    "xv.build",
)
RULES = [
    ("xv.resolver.pubgrub", "xv"),
    ("xv.install", "xv.resolver"),
    ("xv.install", "xv.index"),
    ("xv", "xv.cli"),
    ("xv.compile", "xv.sync"),
    ("xv.sync", "xv.compile"),
    *((below, case) for below in BELOW_USE_CASES for case in ("xv.compile", "xv.sync")),
    ("xv.env", "xv.index"),
    ("xv.env", "xv.resolver"),
    ("xv.reqfile", "xv.index"),
    ("xv.reqfile", "xv.resolver"),
    ("xv.install", "xv.build"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_follow_the_layers(path: Path) -> None:
    module = _module_name(path)
    for importer, forbidden in RULES:
        if not _within(module, importer):
            continue
        own = importer if forbidden == "xv" else forbidden  # what the module may still import
        if forbidden != "xv" and _within(module, forbidden):
            continue
        bad = sorted(
            name
            for name in _imports(path)
            if _within(name, forbidden) and not (forbidden == "xv" and _within(name, own))
        )
        assert not bad, f"{module} imports {bad} ({importer} must not import {forbidden})"


# Leaves: what each may import from xv (nothing else). The cache is one, so every layer may
# use it: ``env`` keeps interpreter facts and the environment lock in it.
LEAVES = {
    "xv.errors": (),
    "xv.atomic": (),
    "xv.dirs": (),
    "xv.records": (),
    "xv.digests": (),
    "xv.envelope": ("xv.digests",),  # an entry's bytes, for the cache and the page workers
    # xv.fast.trace, the fast path's recorder (the standard library, xv.digests and xv.dirs
    # when imported): the cache tells it which caches a compile run writes, and what it
    # could not keep.
    "xv.cache": ("xv.atomic", "xv.digests", "xv.dirs", "xv.envelope", "xv.errors", "xv.fast"),
}


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_only_leaves(leaf: str) -> None:
    allowed = LEAVES[leaf]
    for path in MODULES:
        if not _within(_module_name(path), leaf):
            continue
        bad = sorted(
            name
            for name in _imports(path)
            if name.startswith("xv.")  # ``from xv import atomic`` also yields "xv"
            and not _within(name, leaf)
            and not any(_within(name, ok) for ok in allowed)
        )
        assert not bad, f"{leaf} imports {bad} (a leaf imports only {allowed or 'the stdlib'})"


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_private_names_stay_in_their_module(path: Path) -> None:
    """No ``from xv.x import _name`` of a function, class or constant: what another module
    needs is public, in the module that owns it. A private module (``xv.env._probe``) is
    imported only inside its own package."""
    module = _module_name(path)
    bad = sorted(
        name
        for name in _imports(path)
        if name.startswith("xv.")
        and (last := name.rpartition(".")[2]).startswith("_")
        and not last.startswith("__")
        and not (_is_module(name) and _within(module, name.rpartition(".")[0]))
    )
    assert not bad, f"{module} imports private names {bad}"


def test_the_checker_sees_imports_everywhere(tmp_path: Path) -> None:
    found = _imports(SRC / "compile" / "__init__.py")  # inside a function, TYPE_CHECKING
    assert "xv.compile.run.compile" in found
    assert "xv.resolver.provider" in _imports(SRC / "resolver" / "resolve.py")
    assert "xv.cli.output" in _imports(SRC / "cli" / "syncing.py")
