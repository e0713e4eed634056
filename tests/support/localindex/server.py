"""A local package index on 127.0.0.1, serving built test packages over HTTP."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from . import pages
from .build import build_artifacts
from .faults import Fault, FaultQueue, RequestLog, RequestRecord
from .handler import Response, Server
from .pages import FileEntry
from .pkg import Pkg, normalize


class LocalIndex:
    """A PEP 503/691 index in a background thread, started on construction.

    >>> with LocalIndex([Pkg("demo", "1.0")]) as idx:  # doctest: +SKIP
    ...     idx.url  # "http://127.0.0.1:PORT/simple"

    Switches: ``metadata_files`` (PEP 658 files advertised and served),
    ``range_requests`` (honour ``Range``), ``auth`` (``(user, password)`` for
    basic auth on every path), ``formats`` (``"json"``/``"html"`` offered),
    ``relative_urls`` (file URLs relative to the project page),
    ``cache_headers`` (a Cache-Control value; adds ETag/Last-Modified and 304s),
    ``strict_accept`` (406 instead of the default format when nothing in
    ``Accept`` is offered). ``files_dir`` defaults to a fresh temporary
    directory; ``build_cache`` is a directory shared between indexes.
    """

    def __init__(
        self,
        pkgs: Iterable[Pkg] = (),
        *,
        metadata_files: bool = True,
        range_requests: bool = True,
        auth: tuple[str, str] | None = None,
        formats: Sequence[str] = ("json", "html"),
        relative_urls: bool = False,
        cache_headers: str | None = None,
        strict_accept: bool = False,
        files_dir: Path | None = None,
        build_cache: Path | None = None,
    ) -> None:
        unknown = set(formats) - {"json", "html"}
        if unknown or not formats:
            raise ValueError(f"formats must be a non-empty subset of json/html, got {formats}")
        self.metadata_files = metadata_files
        self.range_requests = range_requests
        self.auth = auth
        self.formats = tuple(formats)
        self.relative_urls = relative_urls
        self.cache_headers = cache_headers
        self.strict_accept = strict_accept
        self.build_cache = build_cache
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if files_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="xv-localindex-")
            files_dir = Path(self._tmp.name)
        self._files_dir = Path(files_dir)
        self._files_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._pending: list[Pkg] = []
        self._pending_files: list[Path] = []
        self._projects: dict[str, dict[str, FileEntry]] = {}
        self._display: dict[str, str] = {}
        self.faults = FaultQueue()
        self.log = RequestLog()
        for pkg in pkgs:
            self.add(pkg)
        self._server = Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._closed = False

    # --- lifecycle -----------------------------------------------------------

    def __enter__(self) -> LocalIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving (idempotent); open keep-alive connections are shut down."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    # --- addresses -----------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The index URL, e.g. ``http://127.0.0.1:PORT/simple``."""
        return f"{self.base_url}/simple"

    @property
    def url_with_auth(self) -> str:
        if self.auth is None:
            return self.url
        user, password = (quote(part, safe="") for part in self.auth)
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple"

    def file_url(self, filename: str) -> str:
        return f"{self.base_url}/files/{quote(filename)}"

    @property
    def files_dir(self) -> Path:
        """The directory of built artifacts (usable as a find-links directory)."""
        self._build_pending()
        return self._files_dir

    def file_path(self, filename: str) -> Path:
        return self.entry(filename).path

    # --- content -------------------------------------------------------------

    def add(self, *pkgs: Pkg) -> None:
        """Add releases; they are built on the next request or file access.

        A release with the same name and version as an earlier one replaces it.
        """
        with self._lock:
            self._pending.extend(pkgs)

    def add_raw(self, name: str, version: str, filename: str, data: bytes) -> FileEntry:
        """Serve ``data`` as ``filename``, a file of release ``name==version``, exactly as
        given (a crafted, possibly hostile wheel). Its PEP 658 metadata file, if any, is
        the archive's ``*.dist-info/METADATA``."""
        self._build_pending()
        path = self._files_dir / filename
        path.write_bytes(data)
        pkg = Pkg(name, version, wheel=False, sdist=False)
        entry = dataclasses.replace(FileEntry.from_path(pkg, path), metadata=_raw_metadata(path))
        with self._lock:
            files = self._projects.setdefault(pkg.project, {})
            files[filename] = entry
            self._display[pkg.project] = name
            self._projects[pkg.project] = dict(sorted(files.items()))
        return entry

    def add_files(self, *paths: Path) -> None:
        """Serve real distribution files as they are (e.g. the vendored build backends
        in ``fixtures/backends``); name, version and metadata come from each file."""
        with self._lock:
            self._pending_files.extend(Path(p) for p in paths)

    def remove(self, name: str, version: str | None = None) -> None:
        """Drop a project (or one version of it) from the index and the files dir."""
        self._build_pending()
        with self._lock:
            project = normalize(name)
            for entry in list(self._projects.get(project, {}).values()):
                if version is None or entry.pkg.norm_version == Pkg(name, version).norm_version:
                    self._drop(entry)
            if not self._projects.get(project):
                self._projects.pop(project, None)
                self._display.pop(project, None)

    def yank(self, name: str, version: str, reason: str | bool | None = True) -> None:
        """Mark a release yanked (``reason=None`` un-yanks) without rebuilding it."""
        self._build_pending()
        with self._lock:
            files = self._projects.get(normalize(name), {})
            wanted = Pkg(name, version).norm_version
            for filename, entry in list(files.items()):
                if entry.pkg.norm_version == wanted:
                    pkg = dataclasses.replace(entry.pkg, yanked=reason)
                    files[filename] = dataclasses.replace(entry, pkg=pkg)

    def entries(self, name: str | None = None) -> list[FileEntry]:
        """The listed files of one project, or of every project."""
        self._build_pending()
        with self._lock:
            projects = [normalize(name)] if name is not None else sorted(self._projects)
            return [e for p in projects for e in self._projects.get(p, {}).values()]

    def entry(self, filename: str) -> FileEntry:
        # Its project's files first (a wheel's or sdist's name starts with the project's):
        # a scan of every file for every request made serving a big index quadratic.
        self._build_pending()
        with self._lock:
            project = self._projects.get(normalize(filename.split("-", 1)[0]), {})
            found = project.get(filename)
        if found is not None:
            return found
        for entry in self.entries():
            if entry.filename == filename:
                return entry
        raise KeyError(filename)

    def sha256(self, filename: str) -> str:
        return self.entry(filename).sha256

    def _build_pending(self) -> None:
        with self._lock:
            while self._pending:
                pkg = self._pending.pop(0)
                paths = build_artifacts(pkg, self._files_dir, self.build_cache)
                files = self._projects.setdefault(pkg.project, {})
                for old in list(files.values()):
                    if old.pkg.norm_version == pkg.norm_version:
                        self._drop(old, keep={p.name for p in paths})
                for path in paths:
                    files[path.name] = FileEntry.from_path(pkg, path)
                self._display[pkg.project] = pkg.name
                self._projects[pkg.project] = dict(sorted(files.items()))
            while self._pending_files:
                source = self._pending_files.pop(0)
                path = Path(shutil.copyfile(source, self._files_dir / source.name))
                entry = FileEntry.from_real_file(path)
                self._projects.setdefault(entry.pkg.project, {})[path.name] = entry
                self._display[entry.pkg.project] = entry.pkg.name

    def _drop(self, entry: FileEntry, keep: Collection[str] = ()) -> None:
        self._projects[entry.pkg.project].pop(entry.filename, None)
        if entry.filename not in keep:
            entry.path.unlink(missing_ok=True)

    # --- faults and log ------------------------------------------------------

    def inject_fault(
        self, kind: str, times: int = 1, match: str | None = None, delay: float = 1.0
    ) -> Fault:
        """Make the next ``times`` requests (paths containing ``match``) fail; see Fault."""
        fault = Fault(kind=kind, times=times, match=match, delay=delay)
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        return self.log.snapshot()

    def clear_log(self) -> None:
        self.log.clear()

    def requests_to(self, match: str) -> list[RequestRecord]:
        return [r for r in self.requests if match in r.path]

    def bytes_sent(self, match: str | None = None) -> int:
        return sum(r.bytes_sent for r in self.requests if match is None or match in r.path)

    # --- routing (called from handler threads) -------------------------------

    def route(self, path: str, accept: str | None) -> Response:
        self._build_pending()
        if path in ("/simple", "/simple/"):
            return self._page(None, accept)
        if path.startswith("/simple/"):
            name = path[len("/simple/") :].rstrip("/")
            if "/" in name or not name:
                return _not_found()
            if name != normalize(name) or not path.endswith("/"):
                return Response(301, b"", {"Location": f"/simple/{normalize(name)}/"})
            if name not in self._projects:
                return _not_found()
            return self._page(name, accept)
        if path.startswith("/files/"):
            return self._file(path[len("/files/") :])
        return _not_found()

    def _page(self, project: str | None, accept: str | None) -> Response:
        media_type = pages.negotiate(accept, self.formats)
        if media_type is None:
            if accept and self.strict_accept:
                return Response(406, b"not acceptable\n")
            media_type = pages.default_type(self.formats)
        with self._lock:
            entries = list(self._projects[project].values()) if project else []
            names = sorted(self._display.items()) if project is None else []
        if project is None:
            body = (
                pages.root_json(d for _, d in names)
                if media_type == pages.JSON_TYPE
                else pages.root_html(names)
            )
        else:
            render = pages.project_json if media_type == pages.JSON_TYPE else pages.project_html
            body = render(project, entries, self._url_for, self.metadata_files)
        headers = {"Content-Type": media_type, "Vary": "Accept"}
        if media_type == pages.TEXT_HTML:
            headers["Content-Type"] = "text/html; charset=utf-8"
        return Response(200, body, headers)

    def _url_for(self, filename: str) -> str:
        if self.relative_urls:
            return f"../../files/{quote(filename)}"
        return self.file_url(filename)

    def _file(self, filename: str) -> Response:
        want_metadata = filename.endswith(".metadata")
        target = filename.removesuffix(".metadata") if want_metadata else filename
        try:
            entry = self.entry(target)
        except KeyError:
            return _not_found()
        if want_metadata:
            if not self.metadata_files or entry.metadata is None:
                return _not_found()
            return Response(200, entry.metadata, {"Content-Type": "text/plain"}, is_file=True)
        body = entry.path.read_bytes()  # read each time: tests may corrupt the file
        content_type = "application/zip" if target.endswith(".whl") else "application/gzip"
        return Response(200, body, {"Content-Type": content_type}, is_file=True)


def _raw_metadata(path: Path) -> bytes | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            return archive.read(names[0]) if len(names) == 1 else None
    except (zipfile.BadZipFile, OSError):
        return None


def _not_found() -> Response:
    return Response(404, b"not found\n")
