"""Error types shared by every package.

Every error a user can cause (bad task file, bad data, bad model path, bad flag) is a
:class:`ReusebenchError`. The command line prints its message on one line and exits with code 2;
anything else is a bug and exits with code 1.
"""

from __future__ import annotations


class ReusebenchError(Exception):
    """A problem with the user's input: configuration, data, model or command-line value."""


class ConfigError(ReusebenchError):
    """A task or suite definition is malformed or names something that does not exist."""


class DataError(ReusebenchError):
    """A data file or split is missing, empty, or does not match its task definition."""


class ModelError(ReusebenchError):
    """A model path or id cannot be loaded, or does not fit the task."""
