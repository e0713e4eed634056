"""xv.index.tls: the default CA bundle, and its context loaded ahead of the first request."""

from __future__ import annotations

import threading
from pathlib import Path

import certifi
import pytest

from xv.index import tls


def test_the_default_bundle_is_certifis() -> None:
    tls.default_ca_bundle.cache_clear()
    assert tls.default_ca_bundle() == certifi.where()


def test_a_preloaded_context_is_the_one_requests_get(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    tls._load_context.cache_clear()
    thread = threading.Thread(target=tls.preload_default_context)
    thread.start()
    thread.join()
    assert tls._load_context.cache_info().currsize == 1
    context = tls.verifying_context(tls.default_ca_bundle())
    assert context.cert_store_stats()["x509_ca"] > 0
    assert tls._load_context.cache_info().misses == 1


def test_a_bundle_that_does_not_load_is_left_to_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preload swallows the error; the request that needs the bundle raises it."""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bad))
    tls._load_context.cache_clear()
    tls.preload_default_context()
    assert tls._load_context.cache_info().currsize == 0
    with pytest.raises(Exception):  # noqa: B017  (ssl.SSLError, as the request would see)
        tls.verifying_context(str(bad))
