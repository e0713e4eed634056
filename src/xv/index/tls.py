"""TLS contexts for the index client: one verifying context per CA bundle, shared by the
transport's connections and requests' pools.

Kept apart from :mod:`xv.index.http` so that :func:`preload_default_context` can run on a
thread as a command starts, importing only :mod:`ssl`: the bundle is read while the main
thread imports the rest (``xv.index.http`` alone is ~45 ms), not after.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from functools import lru_cache


@lru_cache(maxsize=1)
def default_ca_bundle() -> str:
    """requests' own default bundle (``requests.utils.DEFAULT_CA_BUNDLE_PATH``): certifi's.

    Found beside certifi's ``__init__`` when certifi is a plain directory, as installers
    lay it out: importing certifi (``importlib.resources`` and its imports, ~19 ms of a
    cold compile's start, before its first request) only to learn that path is left to a
    certifi that is not, e.g. one in a zip, for which ``certifi.where()`` extracts it.
    """
    from importlib.util import find_spec

    spec = find_spec("certifi")
    if spec is not None and spec.origin is not None and spec.origin.endswith("__init__.py"):
        beside = os.path.join(os.path.dirname(spec.origin), "cacert.pem")
        if os.path.isfile(beside):
            return beside
    import certifi

    return str(certifi.where())


def preload_default_context() -> None:
    """Load the CA bundle a request will verify with by default into its shared context.

    For a thread started as a command begins: OpenSSL reads the bundle (~25 ms, 117
    certificates) without the interpreter lock, beside the imports that come before the
    first request, which would otherwise wait for it. Best effort: an error is left for
    that request to raise (a failed load is not cached).
    """
    try:
        verifying_context(env_ca_bundle() or default_ca_bundle())
    except Exception:  # noqa: S110  (the request that needs it reports it)
        pass


_CONTEXT_LOCK = threading.Lock()


def verifying_context(bundle: str) -> ssl.SSLContext:
    """The shared context for ``bundle``, loaded once even when the fetch threads all
    open their first connection at once: ``lru_cache`` alone lets every caller that
    misses load the bundle (24 loads, ~0.7 s of CPU, in a cold compile)."""
    with _CONTEXT_LOCK:
        return _load_context(bundle)


@lru_cache(maxsize=8)
def _load_context(bundle: str) -> ssl.SSLContext:
    context = tls_context(verify=True)
    if os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)
    else:
        context.load_verify_locations(cafile=bundle)
    return context


def tls_context(verify: bool) -> ssl.SSLContext:
    """A client context set up as urllib3's ``create_urllib3_context`` sets it up (TLS 1.2 at
    least, no compression or session tickets, hostname checked when verifying), without
    importing urllib3; the CA bundle is loaded by the caller."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_COMPRESSION
    context.options |= ssl.OP_NO_TICKET
    if sys.version_info >= (3, 13):
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    if getattr(context, "post_handshake_auth", None) is not None:
        context.post_handshake_auth = True
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.hostname_checks_common_name = False
    keylog = os.path.expandvars(os.environ.get("SSLKEYLOGFILE", ""))
    if keylog:
        context.keylog_filename = keylog
    return context


@lru_cache(maxsize=1)
def unverified_context() -> ssl.SSLContext:
    return tls_context(verify=False)


def env_ca_bundle() -> str | None:
    """A CA bundle named by the environment (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``)."""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(name)
        if value and _is_file(value):
            return value
    return None


@lru_cache(maxsize=16)
def _is_file(path: str) -> bool:
    """``os.path.isfile``, asked once per path: every request asks which bundle verifies it
    (a ``stat`` each, 240 in a cold data-science compile where ``SSL_CERT_FILE`` is set,
    each a turn of the interpreter lock for the fetch threads)."""
    return os.path.isfile(path)
