"""xv.sync.strict: pip check's findings from dist-info directories, for a target's markers."""

from __future__ import annotations

from pathlib import Path

from xv.env.installed import scan_site_packages
from xv.sync.strict import Broken, broken_requirements

LINUX = {"sys_platform": "linux", "python_version": "3.12", "python_full_version": "3.12.1",
         "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
         "platform_machine": "x86_64", "platform_python_implementation": "CPython",
         "platform_release": "", "platform_version": "", "implementation_version": "3.12.1"}  # fmt: skip
WINDOWS = {**LINUX, "sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}


def dist(site: Path, name: str, version: str, *requires: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    headers = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(headers) + "\n\nbody\n")
    (info / "RECORD").write_text("")


def check(site: Path, markers: dict[str, str]) -> list[str]:
    installed = {d.canonical_name: d for d in scan_site_packages(site)}
    return [b.render() for b in broken_requirements(installed, markers)]


def test_missing_and_wrong_versions(tmp_path: Path) -> None:
    dist(tmp_path, "app", "1.0", "lib>=2", "gone", "Bad Requirement ((")
    dist(tmp_path, "lib", "1.5")
    assert check(tmp_path, LINUX) == [
        "app 1.0 requires gone, which is not installed.",
        "app 1.0 has requirement lib>=2, but you have lib 1.5.",
    ]


def test_markers_are_the_targets(tmp_path: Path) -> None:
    dist(tmp_path, "app", "1.0", "pywin32; sys_platform == 'win32'")
    assert check(tmp_path, LINUX) == []
    assert check(tmp_path, WINDOWS) == ["app 1.0 requires pywin32, which is not installed."]


def test_extras_are_followed_through_chains(tmp_path: Path) -> None:
    dist(tmp_path, "app", "1.0", "web[server]>=1")
    dist(tmp_path, "web", "1.0", "core; extra == 'server'", "unused; extra == 'other'")
    dist(tmp_path, "core", "1.0", "core[fast]")  # a self-extra, as many projects write
    dist(tmp_path, "kit", "1.0", "core[fast]")
    (tmp_path / "core-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: core\nVersion: 1.0\n"
        "Requires-Dist: speed>=2; extra == 'fast'\n\n"
    )
    assert check(tmp_path, LINUX) == ["core 1.0 requires speed>=2, which is not installed."]


def test_render_matches_pip_check() -> None:
    assert Broken("A", "1", "b<2", "2.0").render() == "A 1 has requirement b<2, but you have b 2.0."
