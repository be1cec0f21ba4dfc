"""The argument parser of every ``reusebench`` sub-command."""

from __future__ import annotations

import argparse
import math
import unicodedata
from typing import Any, NoReturn

from harness.cli.version import package_version
from harness.executors import EXECUTORS
from harness.result_models import Format
from tasks.defaults import DEFAULT_RESAMPLES

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


SEED_LIMIT = 2**32  # numpy's and torch's seeds are 0 ≤ seed < 2**32
MAX_THREADS = 1024
MAX_BOOTSTRAP = 100_000
MAX_REPEAT_SEEDS = 100
MAX_EXAMPLES = 10**12


def _int_in(low: int, high: int, what: str = "a positive integer") -> Any:
    """An argparse type: an integer from ``low`` to ``high`` (inclusive); anything else is a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what} from {low} to {high}, got {text!r}")
        return value

    return parse


_positive_int = _int_in(1, MAX_EXAMPLES)


def _finite_float(text: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else "≥ 0"
        raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    """A finite number ≥ 0 (not NaN, not infinite)."""
    return _finite_float(text, positive=False)


def _positive_float(text: str) -> float:
    """A finite number > 0 (not NaN, not infinite)."""
    return _finite_float(text, positive=True)


def _text(text: str) -> str:
    """A non-empty value without control characters (a path, a name, a spec, a URL)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be empty, got {text!r}")
    bad = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise argparse.ArgumentTypeError(f"contains the control character {bad!r}: {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="reusebench", description="How reusable is this model? Measured.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}",
                        help="print reusebench's version and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a suite (default: the embedded quick suite)")
    _add_run(run)
    _add_run_machinery(run)
    _add_other_commands(commands)
    return parser


def _add_run(run: argparse.ArgumentParser) -> None:
    """``run``: what to run and where its results go."""
    run.add_argument("--suite", type=_text, default="quick", help="suite name or YAML file (default: quick)")
    run.add_argument("--tasks", type=_text, help="comma-separated task names or YAML files (overrides the suite's)")
    run.add_argument("--teacher", type=_text, action="append",
                     help="teacher: 'minilm' (packaged), a Hugging Face id or a local folder; repeatable "
                          "(a matrix: every teacher runs every task and student)")
    run.add_argument("--student", type=_text, action="append", help="student spec: layers=3, layers=0,2,4 or model=ID; repeatable")
    run.add_argument("--data-dir", type=_text, help="folder with the real data sets (layout of ../shared/data)")
    run.add_argument("--max-train", type=_positive_int, help="cap the training examples (seeded subset)")
    run.add_argument("--max-eval", type=_positive_int, help="cap the eval examples (seeded subset)")
    run.add_argument("--out", type=_text, help="run directory (default: runs/<run-id>)")
    run.add_argument("--db", type=_text, help="results store: SQLAlchemy URL or SQLite path (default: $REUSEBENCH_DB or the data dir)")
    run.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                     help="where models train and are evaluated; auto picks CUDA when torch sees a GPU (default: cpu)")
    run.add_argument("--seed", type=_int_in(0, SEED_LIMIT - 1, "an integer seed"), default=42,
                     help=f"training seed, 0 to {SEED_LIMIT - 1} (default 42)")
    run.add_argument("--repeat-seeds", type=_int_in(1, MAX_REPEAT_SEEDS), default=1, metavar="N",
                     help="train every model with N seeds (seed, seed+1, ...) and report score mean ± std (default 1)")
    run.add_argument("--threads", type=_int_in(1, MAX_THREADS), help="threads for training and evaluation (default: all cores)")
    run.add_argument("--bootstrap", type=_int_in(1, MAX_BOOTSTRAP), default=DEFAULT_RESAMPLES,
                     help=f"bootstrap resamples for the score CI (default {DEFAULT_RESAMPLES})")
    run.add_argument("--quiet", action="store_true",
                     help="no progress or stage logs on stderr; stdout gets only the results path")
    run.add_argument("--json", action="store_true",
                     help="print only a JSON summary (or the plan) on stdout; progress stays on stderr")
    run.add_argument("--dry-run", action="store_true", help="print the plan, what is cached and an estimated cost")


def _add_run_machinery(run: argparse.ArgumentParser) -> None:
    """``run``: the stage cache, executors, energy and the security switches."""
    run.add_argument("--cache-dir", type=_text, help="stage cache (default: $REUSEBENCH_CACHE or ~/.cache/reusebench)")
    run.add_argument("--no-cache", action="store_true", help="neither reuse nor keep stage results across runs")
    run.add_argument("--force", type=_text, action="append", metavar="STAGE",
                     help="recompute STAGE and every later one: estimate, finetune, distill, adapt, export, record; repeatable")
    run.add_argument("--energy", action="store_true", help="estimate training energy with codecarbon (extra 'energy')")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="let models run their own Python code (transformers' trust_remote_code); off by default")
    run.add_argument("--executor", choices=EXECUTORS.names(), default="local",
                     help="run the (task, teacher) units here one by one or as Ray tasks (default: local)")
    run.add_argument("--training-lanes", type=_int_in(1, MAX_THREADS), metavar="N",
                     help="train and export N units at a time, one thread each, before the serial measuring pass; 1: no "
                          "training pass (default: one lane per core for a local CPU run without --threads)")
    run.add_argument("--ray-address", type=_text, help="Ray cluster to join (default: start a local Ray instance)")
    run.add_argument("--ray-cpus-per-unit", type=_positive_float, default=1.0, metavar="N",
                     help="CPUs Ray reserves for each unit (default 1)")
    run.add_argument("--ray-gpus-per-unit", type=_non_negative_float, default=0.0, metavar="N",
                     help="GPUs Ray reserves for each unit (default 0)")
    run.add_argument("--allow-pickle", action="store_true",
                     help="accept pickle checkpoints (pytorch_model.bin), which can run code when loaded; "
                          "by default only safetensors weights are loaded")


def _add_other_commands(commands: Any) -> None:
    """Every sub-command but ``run``."""
    commands.add_parser("tasks", help="list the packaged tasks and suites")

    cache = commands.add_parser("cache", help="show the stage cache's size, or clean it")
    cache.add_argument("action", choices=["info", "clean"])
    cache.add_argument("--cache-dir", type=_text, help="stage cache (default: $REUSEBENCH_CACHE or ~/.cache/reusebench)")
    cache.add_argument("--older-than", type=_non_negative_float, metavar="DAYS", help="clean only entries older than DAYS")
    cache.add_argument("--yes", action="store_true",
                       help="clean: also remove entries that runs in the results store still use, without asking")
    cache.add_argument("--db", type=_text, help="clean: the results store whose runs' models are kept "
                                                "(default as for 'leaderboard')")

    validate = commands.add_parser("validate", help="check a task or suite as 'run' would, without running it")
    validate.add_argument("file", type=_text, metavar="NAME_OR_FILE",
                          help="a packaged task or suite name (as 'run --tasks' and '--suite' take) or a YAML file")

    report = commands.add_parser("report", help="render a run's scorecard.md and report.html again")
    report.add_argument("run_dir", type=_text)

    board = commands.add_parser("leaderboard", help="import runs into the results store and build the static site")
    board.add_argument("--db", type=_text, help="results store: any SQLAlchemy URL or a SQLite file path "
                                    "(default: $REUSEBENCH_DB, else sqlite:///<data dir>/reusebench/results.db)")
    board.add_argument("--add", type=_text, action="append", default=[], metavar="RESULTS_JSON",
                       help="a results.json (or run directory) to import first; repeatable; idempotent (default: none)")
    board.add_argument("--out", type=_text, default="leaderboard-site", help="site folder (default: leaderboard-site)")

    compare = commands.add_parser("compare", help="compare two runs; exit 1 on a regression")
    compare.add_argument("baseline", type=_text, help="baseline run directory or results.json")
    compare.add_argument("candidate", type=_text, help="candidate run directory or results.json")
    compare.add_argument("--max-score-drop", type=_non_negative_float, default=0.01, metavar="X",
                         help="largest allowed significant drop of a score, in [0, 1] units: 0.01 is 1 point "
                              "(1.0 of BLEU or chrF) (default 0.01)")
    compare.add_argument("--max-latency-increase", type=_non_negative_float, default=0.10, metavar="Y",
                         help="largest allowed p50 latency increase beyond the baseline's p90, relative (default 0.10)")
    compare.add_argument("--allow-missing", action="store_true",
                         help="a baseline record missing from the candidate is not a regression")
    compare.add_argument("--markdown", type=_text, metavar="FILE",
                         help="also write the verdict as Markdown (e.g. \"$GITHUB_STEP_SUMMARY\")")
    compare.add_argument("--junit", type=_text, metavar="FILE",
                         help="also write the verdict as JUnit XML, one test case per record (default: none)")
    compare.add_argument("--tolerance", type=_text, action="append", default=[], metavar="METRIC=VALUE",
                         help="a metric's own tolerance: absolute (accuracy=0.005, bleu=1.5) or relative (f1=2%%); "
                              "repeatable (default: --max-score-drop points of every metric)")
    compare.add_argument("--tolerances", type=_text, metavar="FILE.yaml",
                         help="per-metric tolerances from a YAML file ('tolerances: {f1: {absolute: 0.01, "
                              "relative: 0.02}}'); --tolerance overrides it (default: none)")
    compare.add_argument("--fail-inconclusive", action="store_true",
                         help="an inconclusive verdict (too few examples to tell) fails too (default: it passes)")

    ship = commands.add_parser("ship", help="write a run's chosen model as a Hugging Face folder with a model card")
    ship.add_argument("run_dir", type=_text, help="run directory (or its results.json)")
    ship.add_argument("--task", type=_text, help="the task whose model to ship (needed when the run has several)")
    ship.add_argument("--pick", type=_text, default="recommended", metavar="recommended|NAME",
                      help="the recommended variant, or a model by its record name (default: recommended)")
    ship.add_argument("--format", choices=[f.value for f in Format],
                      help="the format to ship (default: the recommended record's)")
    ship.add_argument("--out", type=_text, required=True, metavar="DIR",
                      help="the folder to write: new, empty, or an earlier ship output")

    models = commands.add_parser("models", help="list, install or remove the named models that install offline from PyPI")
    models.add_argument("action", choices=["list", "install", "remove"])
    models.add_argument("name", nargs="?", type=_text, help="install/remove: the model's name (see 'models list')")
    models.add_argument("--from", dest="wheels", type=_text, metavar="DIR",
                        help="install: take the wheels from DIR (downloaded beforehand) instead of the package index")
    models.add_argument("--models-dir", type=_text, metavar="DIR",
                        help="where named models live (default: $REUSEBENCH_MODELS, else models/ in the default cache)")

    history = commands.add_parser("history", help="a task's trend over the stored runs")
    history.add_argument("task", type=_text)
    history.add_argument("--db", type=_text, help="results store URL (default as for 'leaderboard')")
    history.add_argument("--out", type=_text, metavar="FILE.html", help="also write an HTML page with plots")
