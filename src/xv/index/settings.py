"""Where packages come from and how to reach them: :class:`IndexSettings`, a plain value.

Apart from :mod:`xv.index.client` so that building options (the CLI, ``--check`` answered
from the cache) does not import the HTTP stack.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable
from dataclasses import field
from typing import TYPE_CHECKING

from xv.errors import UsageError
from xv.records import record
from xv.settings import DEFAULT_INDEX_URL as DEFAULT_INDEX_URL
from xv.settings import IndexStrategy, KeyringProvider, Settings
from xv.urls import is_url, url_problem

if TYPE_CHECKING:
    from xv.index.http import HttpConfig
    from xv.reqfile import FileOptions

STRATEGIES: tuple[str, ...] = typing.get_args(IndexStrategy)
KEYRING_PROVIDERS: tuple[str, ...] = typing.get_args(KeyringProvider)


def _default_timeout() -> float:
    raw = os.environ.get("XV_HTTP_TIMEOUT", "").strip()
    try:
        return float(raw) if raw else 30.0
    except ValueError:
        return 30.0


@record
class IndexSettings:
    """Where packages come from and how to talk to those places (picklable)."""

    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: IndexStrategy = "first-index"
    trusted_hosts: tuple[str, ...] = ()
    keyring_provider: KeyringProvider = "disabled"  # "subprocess": ask the keyring CLI after a 401
    cert: str | None = None
    timeout: float = field(default_factory=_default_timeout)
    offline: bool = False
    refresh: bool = False
    default_ttl: int = 600
    retries: int = 3
    backoff: float = 0.25  # seconds before the first retry; doubles each time

    def __post_init__(self) -> None:
        if self.index_strategy not in STRATEGIES:
            choices = ", ".join(STRATEGIES)
            raise UsageError(f"unknown index strategy {self.index_strategy!r} (use {choices})")
        if self.keyring_provider not in KEYRING_PROVIDERS:
            choices = ", ".join(KEYRING_PROVIDERS)
            raise UsageError(f"unknown keyring provider {self.keyring_provider!r} (use {choices})")
        # Those from requirement files were checked with their file:line; these come from the
        # command line, XV_* variables or a config file.
        links = [link for link in self.find_links if is_url(link)]
        for url in (self.index_url, *self.extra_index_urls, *links):
            problem = url_problem(url)
            if problem is not None:
                raise UsageError(f"invalid URL '{url}': {problem}")

    @property
    def indexes(self) -> tuple[str, ...]:
        """Index URLs in priority order: extra indexes first, then ``index_url``."""
        if self.no_index:
            return ()
        return (*self.extra_index_urls, self.index_url)

    def http_config(self) -> HttpConfig:
        from xv.index.http import HttpConfig

        return HttpConfig(
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            cert=self.cert,
            trusted_hosts=self.trusted_hosts,
            credential_urls=(*self.indexes, *self.find_links),
            keyring=self.keyring_provider == "subprocess",
        )


def index_settings(merged: Settings, file_opts: FileOptions, *, refresh: bool) -> IndexSettings:
    """Index settings from the merged command line, environment and config (``merged``) and
    the requirement files' options: the first choose the default index; requirement files
    can add extra indexes and find-links, as with uv and pip."""
    return IndexSettings(
        index_url=merged.index_url or file_opts.index_url or DEFAULT_INDEX_URL,
        extra_index_urls=_unique((*merged.extra_index_url, *file_opts.extra_index_urls)),
        find_links=_unique((*merged.find_links, *file_opts.find_links)),
        no_index=bool(merged.no_index) or file_opts.no_index,
        index_strategy=merged.index_strategy or "first-index",
        trusted_hosts=_unique((*merged.allow_insecure_host, *file_opts.trusted_hosts)),
        keyring_provider=merged.keyring_provider or "disabled",
        offline=bool(merged.offline),
        refresh=refresh,
    )


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
