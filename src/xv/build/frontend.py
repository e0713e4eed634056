"""A PEP 517 frontend on ``pyproject_hooks`` (PyPA's hook caller).

Every hook runs in a subprocess of the build interpreter (``pyproject_hooks``
starts it), with the backend's output captured so a failure can show its last
lines. With isolation (the default) that interpreter is a fresh venv holding
only ``build-system.requires`` and then what ``get_requires_for_build_*``
asks for, both resolved and installed by the caller's :class:`Provisioner`
(xv's resolver and installer); ``--no-build-isolation`` runs the hooks in the
target environment as it is.

At most as many hooks run at once as there are CPUs: a build is CPU work.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pyproject_hooks import (
    BackendUnavailable,
    BuildBackendHookCaller,
    BuildBackendWarning,
    HookMissing,
    UnsupportedOperation,
)

from xv.build.buildsystem import BuildSystem, read_build_system
from xv.build.envdir import make_build_env
from xv.build.hookpair import PAIR_SCRIPT, Pairing
from xv.env.interpreter import Interpreter
from xv.errors import BuildError, XvError
from xv.index.metadata import CoreMetadata, parse_metadata
from xv.pool import cpu_count

log = logging.getLogger(__name__)

OUTPUT_LINES = 30
_SLOTS = threading.BoundedSemaphore(cpu_count())
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
# Variables that would leak the caller's environment into an isolated build.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE", "VIRTUAL_ENV")

ConfigSettings = Mapping[str, str | list[str]]


class Provisioner(Protocol):
    """Resolves requirements for ``env`` and installs them into it (xv's resolver + installer)."""

    def install(self, requirements: Sequence[str], env: Interpreter, label: str) -> None: ...


@dataclass(frozen=True)  # not @record: ruff's B008 knows this one as an immutable default
class BuildOptions:
    """``--no-build-isolation`` and ``--config-setting``; constraints live in the provisioner."""

    isolation: bool = True
    config_settings: ConfigSettings = field(default_factory=dict)


def parse_config_settings(items: Sequence[str]) -> dict[str, str | list[str]]:
    """``-C KEY=VALUE`` items; a key given twice becomes a list, as pip and build do.

    >>> parse_config_settings(["a=1", "b=2", "a=3"])
    {'a': ['1', '3'], 'b': '2'}
    """
    out: dict[str, str | list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"config setting {item!r} is not KEY=VALUE")
        old = out.get(key)
        if old is None:
            out[key] = value
        else:
            out[key] = [*old, value] if isinstance(old, list) else [old, value]
    return out


class _Runner:
    """The hook subprocess runner: output captured, environment controlled."""

    def __init__(self, env: Interpreter, isolated: bool, pairing: Pairing | None = None) -> None:
        self.env = env
        self.isolated = isolated
        self.output: list[str] = []
        self.pairing = pairing  # a second hook to run in the first one's process

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = dict(os.environ)
        if self.isolated:
            for name in _LEAKY:
                environ.pop(name, None)
            environ["VIRTUAL_ENV"] = str(self.env.prefix)
        scripts = str(self.env.paths["scripts"])
        environ["PATH"] = os.pathsep.join([scripts, environ.get("PATH", "")])
        environ.update(extra_environ or {})
        if self.pairing is not None:
            try:
                if self.pairing.replay(cmd):
                    return
            except subprocess.CalledProcessError:
                self.output.append(self.pairing.output)  # the backend's words on it
                raise
            cmd = self.pairing.command(cmd)
        done = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        self.output.append(done.stdout.decode("utf-8", "replace"))
        if self.pairing is not None and cmd[1] == PAIR_SCRIPT:
            self.pairing.output = self.output[-1]
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, list(cmd))

    def tail(self, lines: int = OUTPUT_LINES) -> str:
        return "\n".join("".join(self.output).splitlines()[-lines:])


@dataclass
class HookSession:
    """A backend ready to call in one source tree."""

    label: str
    system: BuildSystem
    hooks: BuildBackendHookCaller
    runner: _Runner
    config_settings: ConfigSettings

    def call(self, hook: str, *args: Any) -> Any:
        """Run one hook; every way it can fail becomes a :class:`BuildError`."""
        self.runner.output.clear()
        method = getattr(self.hooks, hook)
        try:
            with _SLOTS, warnings.catch_warnings():
                log.debug("%s: calling the backend's %s", self.label, hook)
                # The backend's warnings are its output, not ours to print.
                warnings.simplefilter("ignore", BuildBackendWarning)
                return method(*args, config_settings=dict(self.config_settings) or None)
        except BackendUnavailable as exc:
            missing = self.system.backend.split(":")[0]
            raise self._error(hook, f"cannot import the build backend {missing!r}", exc) from None
        except HookMissing:
            raise self._error(hook, f"the backend {self.system.backend!r} lacks it") from None
        except UnsupportedOperation as exc:
            raise self._error(hook, "the backend does not support it", exc) from None
        except subprocess.CalledProcessError as exc:
            raise self._error(hook, f"failed (exit status {exc.returncode})") from None
        except OSError as exc:
            raise self._error(hook, f"could not run ({exc})") from None

    def _error(self, hook: str, why: str, exc: Exception | None = None) -> BuildError:
        output = self.runner.tail()
        if exc is not None and not output.strip():
            output = "\n".join(str(exc).splitlines()[-OUTPUT_LINES:])
        return BuildError(
            f"Failed to build {self.label}: {hook}: {why}",
            package=self.label,
            hook=hook,
            output=output,
            hint=build_hint(self.label, output, isolated=self.runner.isolated),
        )


def build_hint(label: str, output: str, isolated: bool) -> str | None:
    """uv's hint for a backend that imports something it did not declare."""
    found = _MISSING_MODULE.findall(output)
    if not found:
        return None
    module = found[-1].split(".")[0]
    if not isolated:
        return f"{module!r} is not installed in the target environment, which the build uses"
    return (
        f"{label} seems to need {module!r} to build but does not declare it in "
        "build-system.requires; if it is your project, add it there; otherwise install "
        f"{module!r} into the environment and re-run with --no-build-isolation"
    )


class Frontend:
    """Runs the PEP 517 hooks of source trees for one target interpreter."""

    def __init__(
        self, interp: Interpreter, provisioner: Provisioner, options: BuildOptions = BuildOptions()
    ) -> None:
        self.interp = interp
        self.provisioner = provisioner
        self.options = options

    @contextmanager
    def session(
        self, source_dir: Path, label: str, kind: str = "wheel", then: Pairing | None = None
    ) -> Iterator[HookSession]:
        """Hooks for ``source_dir`` with their build requirements in place.

        ``kind`` is ``"wheel"`` or ``"editable"``: which ``get_requires_for_build_*``
        hook adds the dynamic requirements; ``then`` is the hook the caller will call
        next, run in the same backend process when nothing needs installing in between.
        """
        system = read_build_system(source_dir)
        with tempfile.TemporaryDirectory(prefix="xv-build-env-") as tmp:
            if self.options.isolation:
                env = make_build_env(self.interp, Path(tmp) / "env")
                self._install(system.requires, env, label)
            else:
                env = self.interp
            runner = _Runner(env, self.options.isolation, then)
            hooks = BuildBackendHookCaller(
                str(source_dir),
                system.backend,
                backend_path=list(system.backend_path) or None,
                runner=runner,
                python_executable=str(env.executable),
            )
            session = HookSession(label, system, hooks, runner, self.options.config_settings)
            if self.options.isolation:
                extra = session.call(f"get_requires_for_build_{kind}")
                self._install([str(r) for r in extra or ()], env, label)
            yield session

    def _install(self, requirements: Sequence[str], env: Interpreter, label: str) -> None:
        if not requirements:
            return
        try:
            self.provisioner.install(requirements, env, label)
        except BuildError:
            raise
        except XvError as exc:
            raise BuildError(
                f"Failed to build {label}: cannot install its build requirements "
                f"({', '.join(requirements)}): {exc}",
                package=label,
                hook="build requirements",
            ) from None

    def metadata(self, source_dir: Path, label: str, editable: bool = False) -> CoreMetadata:
        """Core metadata by ``prepare_metadata_for_build_*`` (a full build if the backend lacks it)."""
        kind = "editable" if editable else "wheel"
        hook = f"prepare_metadata_for_build_{kind}"
        with tempfile.TemporaryDirectory(prefix="xv-metadata-") as out:
            # pyproject_hooks' arguments of this hook, so it can run with the one before.
            cs = dict(self.options.config_settings) or None
            args = {"metadata_directory": os.path.abspath(out), "config_settings": cs}
            pairing = Pairing(hook, {**args, "_allow_fallback": True})
            try:
                with self.session(source_dir, label, kind, then=pairing) as session:
                    dist_info = session.call(hook, out)
            finally:
                pairing.close()
            path = Path(out) / str(dist_info) / "METADATA"
            try:
                return parse_metadata(path.read_bytes(), label)
            except OSError as exc:
                raise BuildError(
                    f"Failed to build {label}: the backend wrote no METADATA ({exc})",
                    package=label,
                    hook=f"prepare_metadata_for_build_{kind}",
                ) from None

    def build(self, source_dir: Path, out_dir: Path, label: str, editable: bool = False) -> Path:
        """Build a wheel (or a PEP 660 editable wheel) of ``source_dir`` into ``out_dir``."""
        kind = "editable" if editable else "wheel"
        out_dir.mkdir(parents=True, exist_ok=True)
        cs = dict(self.options.config_settings) or None
        args = {"wheel_directory": os.path.abspath(out_dir), "config_settings": cs}
        pairing = Pairing(f"build_{kind}", {**args, "metadata_directory": None})
        try:
            with self.session(source_dir, label, kind, then=pairing) as session:
                name = session.call(f"build_{kind}", str(out_dir))
        finally:
            pairing.close()
        path = out_dir / str(name)
        if not path.is_file() or not path.name.endswith(".whl"):
            raise BuildError(
                f"Failed to build {label}: build_{kind} did not produce a wheel ({name!r})",
                package=label,
                hook=f"build_{kind}",
            )
        return path
