"""The version ``reusebench --version`` prints."""

from __future__ import annotations

#: The version of this source tree; what ``--version`` says when reusebench runs without being installed
#: (``tests/test_cli.py`` keeps it equal to pyproject.toml's).
__version__ = "0.1.0"

DISTRIBUTION = "reusebench"


def package_version() -> str:
    """The installed distribution's version (:mod:`importlib.metadata`), else :data:`__version__`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return __version__
