"""Passwords from the ``keyring`` command (``--keyring-provider subprocess``), as uv asks it.

uv's subprocess provider, which xv follows: only when an index answers 401, and only for a
user named in the index URL (``https://user@host/simple``; uv needs the user too), run
``keyring get <index URL> <user>``, then ``keyring get <host> <user>``; the password is the
command's stdout without its final newline. pip runs the same two commands.

Credentials stay in memory for the run: one ``keyring`` call per service and user, whatever
the number of requests or processes. What this process learnt goes with each job it sends
to a process-pool worker (:func:`xv.pool.hand_on`, pickled through the pool's pipe), so a
worker that meets the same 401 answers it from memory instead of running ``keyring`` again.
They are never written anywhere: not to the cache, not to a message, not to the ``-v`` log
(which names the service and user only). A missing
``keyring`` command is one warning, then the request fails as it would without the option.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from urllib.parse import urlsplit

from xv.pool import hand_on

log = logging.getLogger(__name__)

COMMAND = "keyring"
_TIMEOUT = 60.0  # a keyring backend may prompt an agent or unlock a store

_found: dict[tuple[str, str], str | None] = {}
_lock = threading.Lock()
_warned = False


def password(index_url: str, username: str) -> str | None:
    """The password ``keyring`` holds for ``username`` at ``index_url`` (a URL without
    credentials), or at its host; None when it has none."""
    host = urlsplit(index_url).hostname or ""
    for service in (index_url, host):
        if not service:
            continue
        with _lock:  # one subprocess per service and user, even from many threads
            key = (service, username)
            if key not in _found:
                _found[key] = _ask(service, username)
            found = _found[key]
        if found is not None:
            return found
    return None


def _ask(service: str, username: str) -> str | None:
    global _warned
    log.debug("keyring: asking for %s (user %s)", service, username)
    try:
        done = subprocess.run(
            [COMMAND, "get", service, username],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    except FileNotFoundError:
        if not _warned:
            _warned = True
            log.warning("--keyring-provider subprocess: no `keyring` command on PATH")
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("keyring could not be asked for %s: %s", service, type(exc).__name__)
        return None
    if done.returncode != 0:
        log.debug("keyring: nothing for %s (user %s)", service, username)
        return None
    return done.stdout.removesuffix("\n").removesuffix("\r")


def _known() -> dict[tuple[str, str], str | None]:
    with _lock:
        return dict(_found)


def learn(known: dict[tuple[str, str], str | None]) -> None:
    """Take what another process of this run learnt (a pool worker, before its job)."""
    with _lock:
        for key, found in known.items():
            _found.setdefault(key, found)


hand_on(learn, _known)


def forget() -> None:
    """Drop what this process learnt (tests; a long-lived process between runs)."""
    global _warned
    with _lock:
        _found.clear()
        _warned = False
