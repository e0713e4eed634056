"""Git sources with the ``git`` CLI: fetched into the cache once, checked out per commit.

``git+https://host/repo.git@ref#subdirectory=pkg`` (also ``git+ssh://``,
``git+http://``, ``git+file://``) is fetched into a bare repository under
``git-v1/db/<digest of the URL>``; the ref (a branch, a tag, a commit or a
prefix of one; the remote's HEAD when absent) is resolved to a full commit, and
that commit is checked out once into ``git-v1/checkouts/<commit>``, a shared
clone of the bare repository. A full commit already in the bare repository needs
no network at all, so syncing a lock (which pins commits) reuses the checkout.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from xv.cache import Cache, CacheBucket
from xv.errors import BuildError, InputError
from xv.records import record
from xv.urls import redact

GIT_BUCKET = CacheBucket.GIT
_SCHEMES = ("git+https", "git+http", "git+ssh", "git+file")
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@record
class GitUrl:
    """A parsed ``git+`` URL: where to fetch, which ref, which subdirectory."""

    repo: str  # what git fetches: the URL without ``git+``, ``@ref`` and fragment
    ref: str | None = None
    subdirectory: str | None = None

    def pinned(self, commit: str) -> str:
        """The URL pinned to ``commit``, as a lock writes it (uv's form)."""
        text = f"git+{self.repo}@{commit}"
        return f"{text}#subdirectory={self.subdirectory}" if self.subdirectory else text


def is_git_url(url: str) -> bool:
    return url.lower().startswith(tuple(s + ":" for s in _SCHEMES))


def parse_git_url(url: str) -> GitUrl:
    """Split a ``git+`` URL; InputError for another scheme or a bad subdirectory.

    >>> parse_git_url("git+https://h/r.git@v1.0#subdirectory=pkg")
    GitUrl(repo='https://h/r.git', ref='v1.0', subdirectory='pkg')
    >>> parse_git_url("git+ssh://git@h/r.git").ref is None
    True
    """
    if not is_git_url(url):
        raise InputError(f"unsupported VCS URL {url!r}: expected one of {', '.join(_SCHEMES)}")
    parts = urlsplit(url[4:])
    path, ref = parts.path, None
    if "@" in path:
        path, ref = path.rsplit("@", 1)
        ref = ref or None
    fragment = dict(parse_qsl(parts.fragment))
    subdirectory = fragment.get("subdirectory") or None
    if subdirectory is not None:
        pieces = subdirectory.replace("\\", "/").split("/")
        if subdirectory.startswith("/") or ".." in pieces:
            raise InputError(f"{url}: subdirectory {subdirectory!r} leaves the repository")
    repo = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return GitUrl(repo, ref, subdirectory)


class GitSource:
    """Fetches and checks out git repositories under the cache's ``git-v1`` bucket."""

    def __init__(self, cache: Cache) -> None:
        bucket = cache.bucket(GIT_BUCKET)
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if bucket.enabled:
            self.root = bucket.path("x").parent
        else:  # --no-cache: a scratch directory for this run
            self._scratch = tempfile.TemporaryDirectory(prefix="xv-git-")
            self.root = Path(self._scratch.name)
        self.cache = cache

    def checkout(self, git: GitUrl) -> tuple[str, Path]:
        """The commit ``git.ref`` names, and the directory of its source tree."""
        git_exe = require_git()
        key = hashlib.sha256(git.repo.encode()).hexdigest()[:24]
        db = self.root / "db" / key
        with self.cache.bucket(GIT_BUCKET).lock(f"db-{key}"):
            if not (db / "HEAD").is_file():
                db.mkdir(parents=True, exist_ok=True)
                _git(git_exe, ["init", "--bare", "--quiet", str(db)], git.repo)
            commit = self._resolve(git_exe, db, git)
        tree = self._checkout(git_exe, db, commit, git.repo)
        if git.subdirectory:
            tree = tree / git.subdirectory
            if not tree.is_dir():
                raise BuildError(
                    f"{redact(git.repo)}@{commit} has no subdirectory {git.subdirectory!r}"
                )
        return commit, tree

    def _resolve(self, git_exe: str, db: Path, git: GitUrl) -> str:
        ref = git.ref
        if ref is not None and _FULL_COMMIT.match(ref.lower()):
            known = _rev_parse(git_exe, db, f"{ref.lower()}^{{commit}}")
            if known is not None:
                return known
        _git(
            git_exe,
            ["-C", str(db), "fetch", "--quiet", "--force", "--tags", git.repo,
             "+refs/heads/*:refs/heads/*", "+HEAD:refs/xv/HEAD"],
            git.repo,
        )  # fmt: skip
        names = ["refs/xv/HEAD"] if ref is None else [f"refs/heads/{ref}", f"refs/tags/{ref}", ref]
        for name in names:
            commit = _rev_parse(git_exe, db, f"{name}^{{commit}}")
            if commit is not None:
                return commit
        raise BuildError(f"{redact(git.repo)} has no branch, tag or commit {ref!r}")

    def _checkout(self, git_exe: str, db: Path, commit: str, repo: str) -> Path:
        final = self.root / "checkouts" / commit
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".checkout-", dir=final.parent))
        try:
            work = staging / "tree"
            _git(
                git_exe, ["clone", "--quiet", "--shared", "--no-checkout", str(db), str(work)], repo
            )
            _git(git_exe, ["-C", str(work), "checkout", "--quiet", "--detach", commit], repo)
            if (work / ".gitmodules").is_file():
                _git(
                    git_exe, ["-C", str(work), "submodule", "update", "--init", "--recursive"], repo
                )
            try:
                os.rename(work, final)
            except OSError:
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()


def require_git() -> str:
    found = shutil.which("git")
    if found is None:
        raise BuildError(
            "git is needed for git+ requirements but was not found on PATH; install git "
            "or use a wheel or sdist of the package instead"
        )
    return found


def _git(git_exe: str, args: list[str], repo: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"}
    done = subprocess.run(
        [git_exe, *args], env=env, capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()[-10:]
        detail = "\n".join(redact_text(line, repo) for line in stderr)
        command = args[2] if args[0] == "-C" else args[0]
        raise BuildError(f"git {command} failed for {redact(repo)}:\n{detail}")
    return done.stdout.decode("utf-8", "replace").strip()


def _rev_parse(git_exe: str, db: Path, spec: str) -> str | None:
    done = subprocess.run(
        [git_exe, "-C", str(db), "rev-parse", "--verify", "--quiet", spec],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    text = done.stdout.decode().strip()
    return text if done.returncode == 0 and _FULL_COMMIT.match(text) else None


def redact_text(text: str, repo: str) -> str:
    return text.replace(repo, redact(repo)) if repo != redact(repo) else text
