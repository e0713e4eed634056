"""Everything a command needs to build, made lazily from its settings.

``xv-compile`` and ``xv-sync`` create one :class:`BuildContext`; nothing in it
(the interpreter probe, the git cache, a build environment) is touched until a
build, a direct reference or a git URL actually needs it, so a run that only
meets wheels pays nothing.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from xv.build.settings import BuildSettings
from xv.env.interpreter import Interpreter, query_interpreter
from xv.errors import BuildError, UsageError
from xv.index.client import IndexClient

if TYPE_CHECKING:  # the build machinery (frontend, installer, tar/zip) loads when first used
    from xv.build.builder import Builder
    from xv.build.direct import DirectSources
    from xv.build.frontend import Frontend
    from xv.build.requires import ResolverProvisioner
    from xv.build.vcs import GitSource


def read_build_constraints(paths: Sequence[str]) -> tuple[str, ...]:
    """The requirements of ``--build-constraint`` files, as strings."""
    from xv import reqfile  # the parser is only needed when files are given

    found: list[str] = []
    for path in paths:
        parsed = reqfile.parse_file(path, constraint=True)
        for item in (*parsed.requirements, *parsed.constraints):
            if item.requirement is not None:
                found.append(str(item.requirement))
    return tuple(found)


class BuildContext:
    """Lazily built frontend, builder, git source and direct-reference resolver."""

    def __init__(
        self,
        client: IndexClient,
        settings: BuildSettings | None = None,
        interpreter: Interpreter | None = None,
        python: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings = settings or BuildSettings()
        self._interp = interpreter
        self._python = python
        self._provisioner: ResolverProvisioner | None = None
        self._builder: Builder | None = None
        self._git: GitSource | None = None
        self._direct: DirectSources | None = None
        self._making = threading.Lock()
        self.config_settings: dict[str, str | list[str]] = {}
        if settings.config_settings:
            from xv.build.frontend import parse_config_settings

            try:
                self.config_settings = parse_config_settings(settings.config_settings)
            except ValueError as exc:
                raise UsageError(f"--config-setting: {exc}") from None

    @property
    def interpreter(self) -> Interpreter:
        """The interpreter builds run on: the target's, else ``-p``'s, else this one."""
        if self._interp is None:
            exe = self._python if self._python and os.sep in self._python else sys.executable
            self._interp = query_interpreter(exe, self.client.cache)
        return self._interp

    @property
    def builder(self) -> Builder:
        with self._making:  # builds may start on several threads at once
            return self._make_builder()

    def _make_builder(self) -> Builder:
        if self._builder is None:
            from xv.build.builder import Builder

            # The frontend (pyproject_hooks, the build requirements' resolver and
            # installer, the interpreter probe) is made on the first build: static or
            # cached metadata (an unchanged ``-e ./proj``) needs none of it.
            self._builder = Builder(self._make_frontend, self.client.cache, refuse=self.refusal)
        return self._builder

    def _make_frontend(self) -> Frontend:
        from xv.build.frontend import BuildOptions, Frontend
        from xv.build.requires import ResolverProvisioner

        self._provisioner = ResolverProvisioner(
            self.client, read_build_constraints(self.settings.constraint_files)
        )
        self._provisioner.builder = self._builder  # sdist-only build requirements
        options = BuildOptions(self.settings.isolation, self.config_settings)
        return Frontend(self.interpreter, self._provisioner, options)

    @property
    def direct(self) -> DirectSources:
        with self._making:
            if self._direct is None:
                from xv.build.direct import DirectSources
                from xv.build.vcs import GitSource

                self._git = GitSource(self.client.cache)
                self._direct = DirectSources(self.client, self._make_builder(), self._git)
            return self._direct

    def refusal(self, name: str) -> str | None:
        """Why ``name`` may not be built (``--no-build``, ``--no-build-package``,
        ``--only-binary``), else None. Editables are never asked (uv builds them anyway)."""
        if self.settings.no_build:
            return "building is disabled (--no-build)"
        name = canonicalize_name(name)
        if name in self.settings.no_build_packages:
            return f"building {name} is disabled (--no-build-package {name})"
        only = self.settings.only_binary
        if name not in self.settings.no_binary and (":all:" in only or name in only):
            flag = ":all:" if ":all:" in only else name
            return f"building is disabled for {name} (--only-binary {flag})"
        return None

    def close(self) -> None:
        if self._provisioner is not None:
            self._provisioner.close()
        if self._git is not None:
            self._git.close()

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_may_build(context: BuildContext, name: str, what: Path | str) -> None:
    reason = context.refusal(name)
    if reason is not None:
        raise BuildError(f"{name} ({what}) needs a build, but {reason}", package=name)
