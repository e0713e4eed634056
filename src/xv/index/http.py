"""HTTP for the index client: one session per process, auth, retries, redaction.

* **Transport**: GETs go over the standard library (:mod:`xv.index.transport`, one
  keep-alive pool per process, :func:`shared_transport`), which imports in a fraction of
  requests' time and costs less CPU per request; what it leaves to requests (a proxy, a
  redirect, a URL to quote) goes through one :class:`requests.Session` per process
  (:mod:`xv.index.session`, imported then). Pool workers that build their own client
  reuse connections across jobs. Nothing here is pickled: workers rebuild it from
  :class:`~xv.index.client.IndexSettings`.
* **Auth**: credentials in an index URL's userinfo are removed from the URL and
  applied to every request to the same scheme, host and port (pages and the
  files they link to), as uv does; otherwise ``~/.netrc`` (or ``$NETRC``) is
  consulted by host (also for a URL naming a user but no password). With
  ``--keyring-provider subprocess``, a 401 from an index whose URL names a user asks the
  ``keyring`` command for the password (:mod:`xv.index.keyring`) and retries once; what it
  gives is used for that origin for the rest of the run. Credentials never reach a URL we
  return, log or raise: :func:`xv.urls.redact` turns ``http://u:p@host/``
  into ``http://u:****@host/``.
* **Retries**: connection errors, resets, timeouts, truncated bodies, 5xx and
  429 are retried with exponential backoff (or, for a 429, after the
  ``Retry-After`` it gives, at most a minute), ``1 + retries`` attempts in all;
  other 4xx are answers, not failures. After the last attempt a :class:`NetworkError`
  names the redacted URL and the cause.
* **TLS**: verification is always on (``cert`` names a CA bundle) except for
  ``trusted_hosts``, whose certificates are not verified; without ``cert`` a
  bundle named by ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` is used. Plain ``http://``
  indexes are allowed, as uv allows them.
"""

from __future__ import annotations

import email.utils
import logging
import netrc
import os
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar, Union
from urllib.parse import urlsplit

from xv import __version__
from xv.errors import NetworkError
from xv.index.tls import default_ca_bundle, env_ca_bundle, unverified_context, verifying_context
from xv.index.transport import BrokenBody, Response, TimedOut, Transport, TransportError
from xv.records import record
from xv.urls import redact as redact_url
from xv.urls import split_credentials as split_credentials  # its home before xv.urls

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")
#: What a GET answers: the transport's response, or requests' for what it leaves to requests.
AnyResponse = Union[Response, "requests.Response"]

USER_AGENT = f"xv/{__version__}"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class Retryable(Exception):
    """An attempt failed in a way worth retrying (5xx, 429, reset, truncated body).

    ``wait`` is what the server asked for (``Retry-After``), in seconds, if anything.
    """

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


#: The longest ``Retry-After`` honoured: a server asking for more is waited on this long.
MAX_RETRY_AFTER = 60.0


@record
class HttpConfig:
    """What :class:`Http` needs; derived from the index settings."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.25
    cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    credential_urls: tuple[str, ...] = ()  # URLs whose userinfo applies to their origin
    keyring: bool = False  # --keyring-provider subprocess


_TRANSPORTS: dict[int, Transport] = {}
_TRANSPORTS_LOCK = threading.Lock()


def shared_transport() -> Transport:
    """This process's transport (made on first use; rebuilt after a fork)."""
    with _TRANSPORTS_LOCK:
        transport = _TRANSPORTS.get(os.getpid())
        if transport is None:
            transport = _TRANSPORTS[os.getpid()] = Transport(USER_AGENT)
        return transport


def env_proxies() -> dict[str, str]:
    return {
        scheme: value
        for scheme in ("http", "https", "no")
        if (value := os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY"))
    }


class Http:
    """GET with auth, TLS settings, timeouts and retries; thread-safe."""

    def __init__(self, config: HttpConfig) -> None:
        self.config = config
        # Proxies are requests' business (CONNECT, no_proxy): with one set, every request
        # goes through requests, as it always did.
        proxied = any(k in env_proxies() for k in ("http", "https"))
        self._transport = None if proxied else shared_transport()
        self._credentials = _credentials_by_origin(config.credential_urls)
        self._netrc: netrc.netrc | None | bool = False  # False: not read yet
        self._from_keyring: dict[tuple[str, str, int | None], tuple[str, str]] = {}

    @property
    def session(self) -> requests.Session:
        """The requests session, made (and requests imported) on first use."""
        from xv.index.session import shared_session

        return shared_session(self.config.cert)

    # -- request parameters ----------------------------------------------------

    def auth_for(self, url: str) -> tuple[str, str] | None:
        """URL credentials, then the origin's index URL credentials, then netrc, then what
        the keyring gave for the origin; a user without a password is the last resort."""
        clean, inline = split_credentials(url)
        found = inline or self._credentials.get(origin(clean))
        if found is not None and found[1]:
            return found
        from_netrc = self._netrc_auth(clean)
        if from_netrc is not None and (found is None or from_netrc[0] == found[0]):
            return from_netrc
        return self._from_keyring.get(origin(clean), found)

    def _keyring_auth(self, url: str) -> tuple[str, str] | None:
        """After a 401: the keyring's password for the user the index URL names, if any."""
        clean, inline = split_credentials(url)
        found = inline or self._credentials.get(origin(clean))
        if not self.config.keyring or found is None or not found[0] or found[1]:
            return None
        from xv.index import keyring

        secret = keyring.password(self._index_of(clean), found[0])
        if secret is None:
            return None
        self._from_keyring[origin(clean)] = (found[0], secret)
        return found[0], secret

    def _index_of(self, clean: str) -> str:
        """The configured index (or find-links) URL ``clean`` lies under: keyring entries
        are kept per index URL, not per page."""
        under = [u for u, _ in map(split_credentials, self.config.credential_urls)]
        matches = [u for u in under if clean.startswith(u.rstrip("/"))]
        same_origin = [u for u in under if origin(u) == origin(clean)]
        return max(matches, key=len) if matches else (same_origin or [clean])[0]

    def _netrc_auth(self, url: str) -> tuple[str, str] | None:
        if self._netrc is False:
            path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
            try:
                self._netrc = netrc.netrc(path)
            except (OSError, netrc.NetrcParseError):
                self._netrc = None
        if not isinstance(self._netrc, netrc.netrc):
            return None
        entry = self._netrc.authenticators(origin(url)[1])
        if entry is None:
            return None
        login, _account, password = entry
        return login or "", password or ""

    def verify_for(self, url: str) -> bool | str:
        scheme, host, port = origin(url)
        for trusted in self.config.trusted_hosts:
            t_host, _, t_port = trusted.lower().partition(":")
            if t_host == host and (not t_port or t_port == str(port)):
                return False
        return self.config.cert or env_ca_bundle() or True

    # -- requests --------------------------------------------------------------

    def request(
        self, url: str, headers: dict[str, str] | None = None, *, stream: bool = False
    ) -> AnyResponse:
        """One GET (no retry); connection errors surface as :class:`TransportError` or
        ``requests`` exceptions."""
        clean, _ = split_credentials(url)
        verify = self.verify_for(clean)
        with warnings.catch_warnings():
            if verify is False:
                warnings.simplefilter("ignore")
            response = self._get(clean, headers, self.auth_for(url), verify, stream)
            if response.status_code == 401 and self.config.keyring:
                auth = self._keyring_auth(url)
                if auth is not None:
                    response.close()
                    response = self._get(clean, headers, auth, verify, stream)
        if log.isEnabledFor(logging.DEBUG):
            ms = response.elapsed.total_seconds() * 1000
            shown = redact_url(clean) + (f" [{headers['Range']}]" if headers and "Range" in headers else "")  # fmt: skip
            log.debug("GET %s -> %d in %.0fms", shown, response.status_code, ms)
        return response

    def _get(
        self,
        url: str,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        verify: bool | str,
        stream: bool,
    ) -> AnyResponse:
        if self._transport is not None:
            context = _context_for(url, verify)
            timeout = self.config.timeout
            found = self._transport.get(url, headers, auth, context, timeout, stream=stream)
            if found is not None:
                return found
        return self.session.get(
            url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=self.config.timeout,
            stream=stream,
            allow_redirects=True,
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> AnyResponse:
        """GET with retries; the body is read in full. Any status below 500 is returned."""

        def attempt() -> AnyResponse:
            response = self.request(url, headers)
            raise_for_retry(response)
            return response

        return self.with_retries(url, attempt)

    def with_retries(self, url: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, up to ``1 + retries`` times."""
        cause = "no attempt made"
        attempts = 1 + max(0, self.config.retries)
        asked: float | None = None  # the last Retry-After
        for number in range(attempts):
            if number:
                log.debug("retrying %s (%s)", redact_url(url), cause)
                backoff = self.config.backoff * 2 ** (number - 1)
                time.sleep(backoff if asked is None else max(backoff, asked))
            asked = None
            try:
                return attempt()
            except Retryable as exc:
                cause, asked = str(exc), exc.wait
            except BrokenBody as exc:
                cause = "truncated or corrupt response body: " + describe(exc)
            except TransportError as exc:
                cause = describe(exc)
            except Exception as exc:
                cause = _requests_failure(url, exc)
        message = f"request to {redact_url(url)} failed after {attempts} attempt(s): {cause}"
        raise NetworkError(message, redact_url(url))


def _requests_failure(url: str, exc: Exception) -> str:
    """What a failure of requests means: the cause to retry on, else raised (a
    :class:`NetworkError`, or ``exc`` itself when it is no failure of requests)."""
    requests = sys.modules.get("requests")  # loaded if it sent the request
    if requests is None or not isinstance(exc, requests.RequestException):
        raise exc
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return describe(exc)
    broken = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    if isinstance(exc, broken):
        return "truncated or corrupt response body: " + describe(exc)
    raise NetworkError(
        f"request to {redact_url(url)} failed: {describe(exc)}", redact_url(url)
    ) from None


def _context_for(url: str, verify: bool | str) -> ssl.SSLContext | None:
    """The TLS context of a request (None for plain http)."""
    if not url.startswith("https:"):
        return None
    if verify is False:
        return unverified_context()
    return verifying_context(verify if isinstance(verify, str) else default_ca_bundle())


def raise_for_retry(response: AnyResponse) -> None:
    """Raise Retryable for a 5xx or a 429 (Too Many Requests, honouring ``Retry-After``)."""
    status = response.status_code
    if status >= 500 or status == 429:
        wait = retry_after(response.headers.get("Retry-After")) if status == 429 else None
        response.close()
        raise Retryable(f"HTTP {status} {response.reason or ''}".rstrip(), wait)


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` value (seconds or an HTTP date) asks for, at most
    :data:`MAX_RETRY_AFTER`; None when absent or unreadable.

    >>> retry_after("3"), retry_after("9999"), retry_after("soon")
    (3.0, 60.0, None)
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def describe(exc: BaseException) -> str:
    """A short, credential-free description of a requests exception."""
    kind = type(exc).__name__
    text = redact_url(str(exc))
    requests = sys.modules.get("requests")
    if isinstance(exc, TimedOut) or (requests is not None and isinstance(exc, requests.Timeout)):
        return f"timed out ({kind})"
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{kind}: {text}" if text else kind


def _credentials_by_origin(
    urls: Iterable[str],
) -> dict[tuple[str, str, int | None], tuple[str, str]]:
    found: dict[tuple[str, str, int | None], tuple[str, str]] = {}
    for url in urls:
        clean, creds = split_credentials(url)
        if creds is not None:
            found.setdefault(origin(clean), creds)
    return found
