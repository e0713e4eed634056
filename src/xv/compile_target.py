"""The environment ``xv-compile`` resolves for, from its resolver settings.

Kept apart from :mod:`xv.compile` so that ``--check`` can name the target (part of what it
fingerprints) without importing the resolver and the HTTP stack.
"""

from __future__ import annotations

import os
from pathlib import Path

from xv.cache import Cache
from xv.compile_options import ResolverSettings
from xv.resolver.target import Target, make_target, target_for


def resolve_target(settings: ResolverSettings, cache: Cache | None = None) -> Target:
    """The marker values and wheel tags to resolve for.

    As with uv: ``-p/--python`` names the interpreter whose markers and tags are used (else
    the running one); ``--python-version`` and ``--python-platform`` then override the
    version and the platform.
    """
    if settings.python is None:
        return make_target(settings.python_version, settings.python_platform)
    from xv.env import find_target  # only -p needs the interpreter probe

    interp = find_target(
        settings.python, False, True, Path.cwd(), os.environ, cache=cache
    )  # break_system_packages=True: compiling installs nothing, PEP 668 does not apply
    own = target_for(interp.markers, interp.tags)
    if settings.python_version is None and settings.python_platform is None:
        return own
    markers = dict(own.markers)
    base = make_target(settings.python_version or interp.python_version, settings.python_platform)
    changed: set[str] = set()
    if settings.python_version is not None:
        changed |= {"python_version", "python_full_version", "implementation_version"}
    if settings.python_platform is not None:
        changed |= {"sys_platform", "platform_system", "os_name", "platform_machine"}
    markers.update({key: base.markers[key] for key in changed})
    return Target(markers, base.tag_priority)
