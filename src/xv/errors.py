"""The error hierarchy of xv.

Every error xv raises on purpose derives from :class:`XvError`. Leaf errors carry
fields (file, line, package) so the CLI can render one clear line and choose the
exit code: :class:`InputError` and :class:`UsageError` exit 2, :class:`ResolutionError`
exits 1.
"""

from __future__ import annotations


class XvError(Exception):
    """Root of every error xv raises deliberately."""

    exit_code = 1


class UsageError(XvError, ValueError):
    """The command line was wrong (bad option value, conflicting options)."""

    exit_code = 2


class InputError(XvError, ValueError):
    """An input file is malformed. ``str()`` names ``file:line`` when known."""

    exit_code = 2

    def __init__(self, reason: str, file: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.file is None:
            return self.reason
        if self.line is None:
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}: {self.reason}"


class RequirementFileError(InputError):
    """A line of a pip requirements file could not be parsed."""


class IncludeLoopError(RequirementFileError):
    """A requirements file includes itself through ``-r``/``-c``."""


class PyprojectError(InputError):
    """pyproject.toml is malformed or lacks what was asked of it."""


class OutputError(XvError):
    """An output file cannot be written (exit 2, as uv: the command cannot do what it was
    asked, which a script must not mistake for "no solution")."""

    exit_code = 2


class NetworkError(XvError):
    """An HTTP request failed after retries (connection error, 5xx, timeout)."""

    def __init__(self, message: str, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class OfflineError(NetworkError):
    """``--offline`` was given and the cache cannot answer."""


class MetadataError(XvError):
    """A distribution's core metadata is missing, unreadable or fails its hash."""

    def __init__(self, message: str, package: str | None = None) -> None:
        self.package = package
        super().__init__(message)


class HashMismatchError(XvError):
    """A downloaded file's hash differs from the expected one."""

    def __init__(self, message: str, package: str | None = None) -> None:
        self.package = package
        super().__init__(message)


class ResolutionError(XvError):
    """The requirements cannot be satisfied; ``str()`` says why in English.

    :class:`xv.resolver.failure.NoSolution` carries the reasons as data and renders
    them only when asked.
    """

    exit_code = 1

    def __init__(self, explanation: str = "", split: str | None = None) -> None:
        self.split = split  # the markers of the fork that failed, in a universal resolution
        super().__init__(explanation)

    @property
    def explanation(self) -> str:
        return str(self)


class InstallError(XvError):
    """Installing or uninstalling a distribution failed."""

    def __init__(self, message: str, package: str | None = None) -> None:
        self.package = package
        super().__init__(message)


class TargetEnvironmentError(XvError):
    """The target Python environment is missing or unusable."""

    exit_code = 2


class BuildError(XvError):
    """A PEP 517 build failed: which package, which hook, the backend's last lines, a hint."""

    def __init__(
        self,
        message: str,
        package: str | None = None,
        hook: str | None = None,
        output: str = "",
        hint: str | None = None,
    ) -> None:
        self.package = package
        self.hook = hook
        self.output = output
        self.hint = hint
        parts = [message]
        if output.strip():
            parts.append("--- last lines of the build backend's output ---\n" + output.rstrip())
        if hint:
            parts.append(f"hint: {hint}")
        super().__init__("\n".join(parts))
