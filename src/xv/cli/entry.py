"""The console scripts (``[project.scripts]``): :func:`xv.fast.main` answers an unchanged
invocation from its record, else runs the command: with a plain command line without
click (:mod:`xv.cli.plainargs`), anything else through click, which loads only then.

When the command has finished, the process ends at once (:func:`_exit`): the interpreter's
teardown (clearing every module, collecting every object: ~60-100 ms after a compile,
where a cold compile of two requirements takes ~0.6 s) decides nothing a console script
needs. What the teardown does that matters is done first, as it does it: non-daemon
threads are waited for, ``atexit`` functions run (``weakref.finalize`` cleanups, such as
temporary directories, among them), and standard output and error are flushed.
"""

from __future__ import annotations

from xv import fast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def compile_main() -> None:
    """``xv-compile``."""
    _collect_less_often()
    _exit(lambda: fast.main("xv-compile", _compile_command))


def sync_main() -> None:
    """``xv-sync``."""
    _collect_less_often()
    _exit(lambda: fast.main("xv-sync", _sync_command))


GC_YOUNG = 10_000  # allocations between collections of the youngest generation (default 700)


def _collect_less_often() -> None:
    """Collect cyclic garbage about 14 times less often. Reading an index page allocates a
    dict or two per file (55,000 files for data-science): at the default threshold the
    collector ran ~140 times in a cold compile, 52-84 ms under the interpreter lock that
    the fetch threads and the solver share; with this one ~14 times, 14-25 ms (data-science
    and airflow, 2 runs each; peak RSS within the runs' spread). xv makes few cycles."""
    import gc

    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, old)


def _exit(command: Callable[[], None]) -> None:
    """Run ``command``, then end the process with its exit status without the
    interpreter's teardown (see the module docstring). An exception other than
    :class:`SystemExit` leaves as before: its traceback, and the interpreter's own exit."""
    try:
        command()
        code: object = 0
    except SystemExit as stop:
        code = stop.code
    import atexit
    import os
    import sys
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1, as the interpreter does
        print(code, file=sys.stderr)
        status = 1
    # What Py_FinalizeEx does first, in its order: wait for non-daemon threads (and the
    # thread pools' exit hooks), then the atexit functions.
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            status = 120  # the interpreter's status when flushing at exit fails
    os._exit(status)


def _compile_command() -> Callable[[], Any]:
    import sys

    from xv.cli.plainargs import parse

    argv = sys.argv[1:]
    if not {"--offline", "--cert"}.intersection(argv):
        _preload_tls()
    if not {"--offline", "--check", "--help", "-h"}.intersection(argv):
        _start_page_worker()
    # --check's usage error and diff are click's: it stays with the click command.
    params = None if "--check" in argv else parse("xv-compile", argv)
    if params is not None:  # a plain command line: read as click reads it, without click
        from xv.cli import compiling

        return lambda: compiling.main(params, argv)
    from xv.cli.compile import main

    return main


def _preload_tls() -> None:
    """Load the default CA bundle on a thread while the command's modules import: the
    first request of a compile (one that its fast record did not answer) needs it then.
    Not for a sync, which often asks the network nothing; not with ``--offline``, nor
    with ``--cert``, a bundle of the user's (``XV_CERT`` or a config file naming one only
    wastes the other CPU's ~25 ms)."""
    import threading

    def preload() -> None:
        from xv.index.tls import preload_default_context

        preload_default_context()

    threading.Thread(target=preload, name="xv-tls", daemon=True).start()


def _start_page_worker() -> None:
    """Let the compile start the processes that parse the index pages it fetches
    (:mod:`xv.index.pageworker`), when it fetches the first."""
    from xv.index import pageworker

    pageworker.enable()


def _sync_command() -> Callable[[], Any]:
    import sys

    from xv.cli.plainargs import parse

    params = parse("xv-sync", sys.argv[1:])
    if params is not None:  # a plain command line: read as click reads it, without click
        from xv.cli import syncing

        return lambda: syncing.main(params)
    from xv.cli.sync import main

    return main
