"""Fault injection and the request log of a local index (thread-safe)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: Kinds besides an HTTP status code given as digits ("500", "503", "429", ...).
FAULT_KINDS = ("reset", "slow", "truncate")


@dataclass
class Fault:
    """Make the next ``times`` requests whose path contains ``match`` misbehave.

    ``kind`` is ``"reset"`` (close the connection with a TCP RST, no response),
    ``"slow"`` (sleep ``delay`` seconds, then answer normally), ``"truncate"``
    (announce the full Content-Length, send half the body, close), or an HTTP
    status code as digits, e.g. ``"500"``, answered with a short text body.
    """

    kind: str
    times: int = 1
    match: str | None = None
    delay: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS and not (self.kind.isdigit() and len(self.kind) == 3):
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw and answered it.

    ``status`` is None when the connection was reset without a response;
    ``bytes_sent`` counts body bytes only; ``fault`` names the injected fault.
    """

    method: str
    path: str
    range: str | None
    status: int | None
    bytes_sent: int
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    fault: str | None = None


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        """The first pending fault matching ``path``, consuming one of its times."""
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and (fault.match is None or fault.match in path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)
