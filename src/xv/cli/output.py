"""What the commands print on stderr: warnings, errors, a progress line, a closing summary.

Results (the compiled file) go to stdout or a file; everything addressed to the person at the
terminal goes to stderr, as uv does. Progress is drawn only when stderr is a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TextIO

from xv.errors import ResolutionError, XvError
from xv.fast import format_elapsed as format_elapsed  # re-exported: one spelling of a duration


class Reporter:
    """Prints to ``stream`` (stderr) according to ``-q``/``-v`` and ``--color``."""

    def __init__(
        self,
        quiet: int = 0,
        verbose: int = 0,
        color: str = "auto",
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.tty = _isatty(self.stream)
        self.color = color == "always" or (
            color == "auto" and self.tty and "NO_COLOR" not in os.environ
        )
        self._progress_shown = False
        self._started = time.monotonic()
        # Log records arrive from worker threads while the main thread draws progress.
        self._lock = threading.RLock()

    # -- messages --------------------------------------------------------------

    def _write(self, text: str) -> None:
        with self._lock:
            self.clear_progress()
            echo(text, self.stream, self.color)

    def line(self, text: str) -> None:
        """A status line, shown unless ``-q``."""
        if not self.quiet:
            self._write(text)

    def warn(self, message: str) -> None:
        if self.quiet < 2:
            self._write(f"{self._style('warning', 'yellow')}: {message}")

    def debug(self, message: str) -> None:
        """A line of the ``-v`` debug log (from the modules' loggers, see
        :func:`install_log_handler`)."""
        if self.verbose and not self.quiet:
            self._write(f"DEBUG {message}")

    def info(self, message: str) -> None:
        """A message shown only with -v (and not with -q)."""
        if self.verbose and not self.quiet:
            self._write(message)

    def error(self, exc: XvError) -> None:
        """One line for most errors; uv's tree layout for a failed resolution."""
        if isinstance(exc, ResolutionError):
            self._write(resolution_failure(exc.explanation, self._style("×", "red"), exc.split))
        else:
            self._write(f"{self._style('error', 'red')}: {exc}")

    def _style(self, text: str, fg: str) -> str:
        return style(text, fg) if self.color else text

    # -- progress --------------------------------------------------------------

    @property
    def interactive(self) -> bool:
        return self.tty and not self.quiet

    def start(self) -> None:
        self._started = time.monotonic()
        self.progress(0)

    def progress(self, count: int) -> None:
        """Redraw the progress line: the number of packages resolved so far."""
        self.draw("Resolving dependencies..." + (f" {count}" if count > 0 else ""))

    def draw(self, text: str) -> None:
        """Replace the progress line with ``text`` (on a terminal, unless ``-q``)."""
        if not self.interactive:
            return
        with self._lock:
            self.stream.write(f"\r\x1b[2K{text}")
            self.stream.flush()
            self._progress_shown = True

    def clear_progress(self) -> None:
        if self._progress_shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._progress_shown = False

    def summary(self, count: int) -> None:
        """``Resolved N packages in 156ms``, as uv prints it on stderr, terminal or not
        (``-q`` silences it)."""
        if self.quiet:
            return
        elapsed = format_elapsed(time.monotonic() - self._started)
        self._write(f"Resolved {packages(count)} in {elapsed}")


EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C


def run_command(reporter: Reporter, body: Callable[[], int]) -> NoReturn:
    """Run a command's ``body`` and exit with its status: an :class:`XvError` becomes one
    message and its exit code; Ctrl-C exits 130 quietly (not click's ``Aborted!`` with 1,
    the status a script reads as "no solution"), as uv does. Under click (the command's
    context), the status goes through ``ctx.exit``; without it (:mod:`xv.cli.plainargs`),
    through ``SystemExit``, which is what click's standalone mode turns it into."""
    click = sys.modules.get("click")
    ctx = click.get_current_context(silent=True) if click is not None else None
    install_log_handler(reporter)
    try:
        code = body()
    except XvError as exc:
        reporter.clear_progress()
        reporter.error(exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        reporter.clear_progress()
        _exit_now_if_threads_linger(EXIT_INTERRUPTED)
        code = EXIT_INTERRUPTED
    if ctx is not None:
        ctx.exit(code)
    raise SystemExit(code)


# click's colours and its pattern of what ``click.echo`` strips (click 8.5): the status lines
# are written without loading click (~25 ms of every start-up); tests/unit/test_cli_output.py
# checks both against click.
_COLORS = {"red": 31, "green": 32, "yellow": 33}
_ANSI = r"\033\[[0-?]*[ -/]*[@-~]"


def style(text: str, fg: str) -> str:
    """``click.style(text, fg=fg, bold=True)``."""
    return f"\033[{_COLORS[fg]}m\033[1m{text}\033[0m"


def echo(text: str, stream: TextIO, color: bool) -> None:
    """``click.echo(text, file=stream, color=color)``: one line, flushed; without colour,
    escape sequences are stripped (a hostile name in a message cannot drive the terminal).
    On Windows, click's own (its console handling)."""
    if os.name == "nt":  # pragma: no cover - POSIX CI
        import click

        click.echo(text, file=stream, color=color)
        return
    out = text + "\n"
    if not color and "\033" in out:
        import re

        out = re.sub(_ANSI, "", out)
    stream.write(out)
    stream.flush()


class _LogHandler(logging.Handler):
    """Routes the modules' loggers (``logging.getLogger(__name__)``) to the reporter:
    warnings as ``warning: ...``, debug records as the ``-v`` log."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                self.reporter.warn(message)
            else:
                self.reporter.debug(message)
        except Exception:  # logging must never break the command
            self.handleError(record)


def install_log_handler(reporter: Reporter) -> None:
    """Send the ``xv`` loggers to ``reporter``: debug records with ``-v``, else warnings
    only. Replaces the handler of an earlier run in the same process."""
    logger = logging.getLogger("xv")
    for handler in list(logger.handlers):
        if isinstance(handler, _LogHandler):
            logger.removeHandler(handler)
    logger.addHandler(_LogHandler(reporter))
    logger.setLevel(logging.DEBUG if reporter.verbose and not reporter.quiet else logging.WARNING)


def _exit_now_if_threads_linger(code: int, grace: float = 1.0) -> None:
    """After Ctrl-C, threads blocked on the network would hold the exit until their requests
    time out. Their results are not wanted and every file they write is replaced atomically,
    so the process leaves without them (the main thread has already unwound, running its
    cleanups). Threads that end by themselves within ``grace`` seconds (a process pool's
    manager, once its workers are stopped) are waited for, so that they release what they
    hold."""
    deadline = time.monotonic() + grace
    lingering = []
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            lingering.append(thread)
    if lingering:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def packages(count: int) -> str:
    """``1 package``, ``2 packages``."""
    return f"{count} package{'' if count == 1 else 's'}"


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it, as uv shows it."""
    try:
        return str(path.absolute().relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def resolution_failure(explanation: str, cross: str = "×", split: str | None = None) -> str:
    """uv's layout for an unsatisfiable resolution.

    >>> print(resolution_failure("Because a depends on b and b is missing,\\nno luck."))
      × No solution found when resolving dependencies:
      ╰─▶ Because a depends on b and b is missing,
          no luck.
    """
    lines = explanation.strip("\n").splitlines() or [""]
    body = [f"  ╰─▶ {lines[0]}", *(f"      {line}".rstrip() for line in lines[1:])]
    where = f" for split (markers: {split})" if split else ""
    return "\n".join([f"  {cross} No solution found when resolving dependencies{where}:", *body])


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
