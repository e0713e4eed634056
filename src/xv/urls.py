"""Credentials in URLs: one policy for every message, file and record xv writes.

A URL shown to a user keeps its username and hides its password (``user:****@host``); a
userinfo without a password is taken for a token and hidden whole (``****@host``), as uv
shows URLs. Records that outlive the run (PEP 610 ``direct_url.json``) keep no password at
all (:func:`without_password`).
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

# ``scheme://userinfo@`` inside any text (a URL, or a message holding several).
_USERINFO = re.compile(r"(?<=//)([^/@\s:]*)(:?)[^/@\s]*@")


def redact(url: str) -> str:
    """``url`` (or every URL inside a message) with its credentials hidden.

    >>> redact("https://user:secret@host/r.txt"), redact("https://token@host:8443/r.txt")
    ('https://user:****@host/r.txt', 'https://****@host:8443/r.txt')
    >>> redact("failed: http://u:p@h:1/x and https://t@h2/y")
    'failed: http://u:****@h:1/x and https://****@h2/y'
    """
    return _USERINFO.sub(lambda m: f"{m[1]}:****@" if m[2] else "****@", url)


def without_password(url: str) -> str:
    """The URL with any ``user:password@`` reduced to ``user@`` (PEP 610 keeps no secrets;
    ``git@`` of an ssh URL stays).

    >>> without_password("https://me:tok@h/r.git"), without_password("ssh://git@h/r.git")
    ('https://me@h/r.git', 'ssh://git@h/r.git')
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:")


def is_url(spec: str) -> bool:
    """True for ``scheme://...`` and ``file:...``."""
    return _URL_RE.match(spec) is not None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used (None when it can): what :mod:`urllib.parse` refuses, a
    port out of range, a network URL without a host. Checked when a file is read, so the
    error names its line instead of surfacing as a traceback deep in the HTTP stack.

    >>> url_problem("https://h:99999/simple"), url_problem("https://h/simple")
    ('Port out of range 0-65535', None)
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - the property validates the port
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower().rpartition("+")[2] in ("http", "https") and not parts.hostname:
        return "no host"
    return None


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without userinfo, and the (user, password) it carried.

    >>> split_credentials("http://u:p%40ss@h:1/simple")
    ('http://h:1/simple', ('u', 'p@ss'))
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username or "")
    return clean, (user, unquote(parts.password or ""))


def url2pathname(path: str) -> str:
    """:func:`urllib.request.url2pathname`, imported only when a ``file:`` URL is read
    (urllib.request brings http.client, email and ssl: a third of a warm compile's start-up).
    On POSIX before 3.14 that function is ``unquote`` itself, so not even then (``-e ./proj``
    is a ``file:`` URL)."""
    if os.name == "posix" and sys.version_info < (3, 14):
        return unquote(path)
    from urllib.request import url2pathname as convert

    return convert(path)
