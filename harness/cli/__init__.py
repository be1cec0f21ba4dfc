"""The ``reusebench`` command.

This package is the composition root: the one place in ``harness`` that calls into ``reports``
(scorecards, Markdown, HTML) and ``leaderboard`` (the results store, the site) after the runner has
produced its records (``tests/test_layering.py`` allows it and nothing else).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

from harness.cli.commands import (
    cmd_cache,
    cmd_compare,
    cmd_history,
    cmd_leaderboard,
    cmd_models,
    cmd_report,
    cmd_ship,
    cmd_tasks,
    cmd_validate,
)
from harness.cli.parser import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, build_parser
from harness.cli.run_command import _prepare_run_dir, cmd_run
from tasks.errors import ReusebenchError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_OK", "_prepare_run_dir", "build_parser", "main"]

# OS errors that are the machine's state, not a bug: reported on one line with exit code 2.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _offline_defaults() -> None:
    # Nothing is fetched at run time unless the user opts in by setting these to 0 themselves.
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


COMMANDS = {
    "run": cmd_run,
    "tasks": cmd_tasks,
    "validate": cmd_validate,
    "report": cmd_report,
    "cache": cmd_cache,
    "leaderboard": cmd_leaderboard,
    "compare": cmd_compare,
    "history": cmd_history,
    "ship": cmd_ship,
    "models": cmd_models,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``reusebench`` console script."""
    _offline_defaults()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ReusebenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"reusebench: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("reusebench: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            return _failed(exc, args.debug)
        if args.debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        hint = " (free some space and run again)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        print(f"reusebench: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug or an environment failure: one line unless --debug
        return _failed(exc, args.debug)


def _one_line(text: str, limit: int = 1000) -> str:
    """A message on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failed(exc: BaseException, debug: bool) -> int:
    """Report an unexpected failure: the traceback with ``--debug``, else one line."""
    if debug:
        traceback.print_exc()
    else:
        print(f"reusebench: failed: {type(exc).__name__}: {_one_line(str(exc), 500)} (run with --debug for the traceback)",
              file=sys.stderr)
    return EXIT_FAILURE
