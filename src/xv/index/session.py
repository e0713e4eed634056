"""The requests session of :mod:`xv.index.http`, for what :mod:`xv.index.transport` leaves
to it (proxies, redirects, URLs to quote); imported with the first such request, since
requests and urllib3 cost ~160 ms of CPU to import.

One session per process and CA bundle (:func:`shared_session`), so pool workers that build
their own client reuse connections across jobs; it verifies TLS with the same shared
context as the transport (:func:`xv.index.tls.verifying_context`).
"""

from __future__ import annotations

import os
import threading
from typing import Any, cast

import requests
from requests.adapters import HTTPAdapter

from xv.index.http import USER_AGENT, env_proxies
from xv.index.tls import default_ca_bundle, verifying_context

_SESSIONS: dict[tuple[int, str | None], requests.Session] = {}
_SESSIONS_LOCK = threading.Lock()


def shared_session(cert: str | None = None) -> requests.Session:
    """This process's session (made on first use; rebuilt after a fork)."""
    key = (os.getpid(), cert)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = requests.Session()
            adapter = _TlsAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            # Auth is ours to decide (URL credentials, then netrc), not requests'.
            session.trust_env = False
            session.proxies.update(env_proxies())
            _SESSIONS[key] = session
        return session


class _TlsAdapter(HTTPAdapter):
    """An adapter whose verifying TLS context is made once per CA bundle.

    Given a bundle path (``verify=path``, also what ``SSL_CERT_FILE`` gives), requests
    hands it to urllib3, which loads it into a new context for every new connection:
    about 30 ms of CPU each, a third of a cold compile's CPU with two dozen connections
    (measured with py-spy). One context per bundle, shared by every connection, does
    the same verification (urllib3's settings, hostname checked, bundle loaded once).
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> Any:
        found = super().build_connection_pool_key_attributes(request, verify, cert)
        host, pool = cast(tuple[dict[str, Any], dict[str, Any]], found)
        if verify is not False and host.get("scheme") == "https":
            bundle = verify if isinstance(verify, str) else default_ca_bundle()
            pool.pop("ca_certs", None)
            pool.pop("ca_cert_dir", None)
            pool["ssl_context"] = verifying_context(bundle)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]  # untyped in the stubs
        if getattr(conn, "conn_kw", {}).get("ssl_context") is not None:
            conn.ca_certs = conn.ca_cert_dir = None  # already in the shared context
