"""Credentials in URLs: one policy for every message, file and record xv writes.

A URL shown to a user keeps its username and hides its password (``user:****@host``); a
userinfo without a password is taken for a token and hidden whole (``****@host``), as uv
shows URLs. Records that outlive the run (PEP 610 ``direct_url.json``) keep no password at
all (:func:`without_password`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

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
