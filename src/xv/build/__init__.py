"""Builds: a PEP 517 frontend, metadata fast paths, sdists, source trees, git sources.

* :mod:`xv.build.buildsystem` reads ``[build-system]`` (legacy setuptools default);
* :mod:`xv.build.static` gets metadata without building (PEP 643 PKG-INFO, PEP 621);
* :mod:`xv.build.envdir` writes isolated build venvs;
* :mod:`xv.build.requires` fills them with xv's resolver and installer;
* :mod:`xv.build.frontend` calls the hooks through ``pyproject_hooks``;
* :mod:`xv.build.builder` puts fast paths and caches in front of the frontend;
* :mod:`xv.build.vcs` fetches git sources with the git CLI.
"""
