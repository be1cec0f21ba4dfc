"""Issue #16's ablation: one student distilled on logits alone and with each intermediate-layer term added.

For each task (default: SST-2, CoNLL-2003, TyDi QA GoldP) the packaged task definition (tasks/definitions/) is run
four times with the MiniLM teacher and a 3-layer student (teacher layers 0, 2, 4), PyTorch only, in one stage
cache, so that the teacher is fine-tuned once and only the student is distilled again:

- ``logits``: the kind's default loss (its hard and KD terms on the outputs), the task file unchanged;
- ``hidden``: + ``hidden_mse`` (TinyBERT: MSE between mapped layers' hidden states);
- ``attention``: + ``attention_kl`` (TinyBERT: KL between mapped layers' attention distributions);
- ``relation``: + ``relation_kl`` (MiniLMv2: KL between the last layer's query-query, key-key and value-value
  relations).

Each added term has weight :data:`TERM_WEIGHT` on top of the kind's default weights, and the layer map is the task's
(``uniform`` by default: student layers 0, 1, 2 learn from teacher layers 1, 3, 5). The training caps are those of
bench/teachers.sh (the same seeded subsets). Results go to ``OUT/<task>-<variant>.json``; ``OUT/ABLATION.md`` is
written from those files: the student's score with its 95 % bootstrap CI, its retention of the teacher, the paired
difference against the logits-only student on the same examples, and the distillation's wall time.

    .venv/bin/python bench/ablation.py DATA_DIR [TASK ...] [--out bench/results/ablation]
    .venv/bin/python bench/ablation.py --table-only [--out bench/results/ablation]    # rewrite ABLATION.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.results import Record, RunResults, load_results  # noqa: E402
from tasks.metrics.paired import paired_summary  # noqa: E402

#: the intermediate term each variant adds to the kind's default loss (None: logits only)
VARIANTS: dict[str, str | None] = {"logits": None, "hidden": "hidden_mse", "attention": "attention_kl",
                                   "relation": "relation_kl"}
TERM_WEIGHT = 1.0
#: train / eval caps per task: bench/teachers.sh's
CAPS = {"sst2": (1000, 872), "conll2003": (1000, 500), "tydiqa_goldp_en": (500, 300)}
STUDENT = "layers=3"
SUITE = """name: ablation
tasks: [{task}]
teacher: minilm
students: ["{student}"]
formats: [pytorch]
adaptation: [full]
measure: {{batch_sizes: [1], warmup: 2, min_iterations: 10, min_seconds: 0.3, threads: 1}}
"""


def variant_task(task: str, term: str | None) -> dict[str, Any]:
    """The packaged task definition, with ``term`` added to its kind's default distillation weights."""
    from tasks.kinds import get_kind

    data = yaml.safe_load((ROOT / "tasks" / "definitions" / f"{task}.yaml").read_text(encoding="utf-8"))
    if term is not None:
        distillation = dict(data.get("distillation") or {})
        weights = dict(distillation.get("weights") or get_kind(data["kind"]).default_weights)
        distillation["weights"] = {**weights, term: TERM_WEIGHT}
        data["distillation"] = distillation
    return data


def run_variants(data_dir: Path, tasks: list[str], out: Path) -> None:
    """Run every variant of every task, one ``reusebench run`` each, in one stage cache per task."""
    scale = float(os.environ.get("SCALE", "1"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for task in tasks:
            train, evaluate = (max(1, int(cap * scale)) for cap in CAPS[task])
            for variant, term in VARIANTS.items():
                task_file = Path(scratch) / f"{task}-{variant}.yaml"
                task_file.write_text(yaml.safe_dump(variant_task(task, term), sort_keys=False), encoding="utf-8")
                suite = Path(scratch) / f"suite-{task}-{variant}.yaml"
                suite.write_text(SUITE.format(task=task_file, student=STUDENT), encoding="utf-8")
                run_dir = ROOT / "bench" / "runs" / f"ablation-{task}-{variant}"
                print(f"== {task} {variant}: {train} train / {evaluate} eval", flush=True)
                subprocess.run(
                    [sys.executable, "-m", "harness.cli", "run", "--suite", str(suite), "--data-dir", str(data_dir),
                     "--max-train", str(train), "--max-eval", str(evaluate), "--out", str(run_dir), "--quiet",
                     "--training-lanes", "1"],  # one unit, one chain: both cores on it
                    cwd=ROOT, check=True,
                )
                shutil.copy(run_dir / "results.json", out / f"{task}-{variant}.json")


def _record(results: RunResults, role: str) -> Record | None:
    return next((r for r in results.records if r.role == role and r.format == "pytorch" and r.status == "ok"), None)


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def ablation_rows(files: dict[tuple[str, str], RunResults]) -> list[dict[str, Any]]:
    """One row per (task, variant) found: the student's figures and its paired difference against logits only."""
    rows = []
    for task in dict.fromkeys(task for task, _ in files):
        reference = files.get((task, "logits"))
        base = _record(reference, "student") if reference else None
        for variant, term in VARIANTS.items():
            results = files.get((task, variant))
            student = _record(results, "student") if results else None
            teacher = _record(results, "teacher") if results else None
            if student is None or teacher is None:
                continue
            row = {"task": task, "variant": variant, "term": term, "metric": student.primary_metric,
                   "score": student.score, "ci": list(student.score_ci) if student.score_ci else None, "teacher": teacher.score,
                   "retention": student.score / teacher.score if student.score is not None and teacher.score else None,
                   "distill_s": student.train.wall_s if student.train else None, "paired": None}
            eval_set = results.eval_sets.get(task)
            if variant != "logits" and base is not None and eval_set is not None and base.predictions \
                    and student.predictions:
                row["paired"] = paired_summary(
                    eval_set.metric or "", base.predictions, student.predictions, eval_set.references,
                    primary=student.primary_metric, reference_metrics=base.metrics, metrics=student.metrics,
                    metric_kwargs=eval_set.metric_kwargs, seed=0,
                )
            rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], sources: list[str]) -> str:
    """ABLATION.md from :func:`ablation_rows`."""
    lines = [
        f"<!-- Generated by bench/ablation.py from {', '.join(sources)}; do not edit by hand. -->",
        "# Intermediate-layer distillation: an ablation (issue #16)",
        "",
        f"A 3-layer student (`{STUDENT}`: teacher layers 0, 2, 4) of the MiniLM teacher fine-tuned on each task "
        "(tasks/definitions/, seeded training subsets), distilled on the kind's default loss (*logits*) and with one "
        f"intermediate term added at weight {TERM_WEIGHT:g} (layer map `uniform`). *score*: the student in PyTorch with "
        "its 95 % bootstrap CI; *vs logits*: the paired difference against the logits-only student on the same eval "
        "examples (paired bootstrap, 95 % CI); *distill s*: the distillation's wall time (the intermediate terms run "
        "the teacher in every epoch; logits alone keep its outputs from the first).",
        "",
        "| task | terms | teacher | score [95 % CI] | retention | vs logits [95 % CI] | distill s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ci = row["ci"]
        paired = row["paired"] or {}
        diff = paired.get("difference")
        versus = (f"{diff:+.4f} [{paired['difference_ci'][0]:+.4f}, {paired['difference_ci'][1]:+.4f}]"
                  if diff is not None and paired.get("difference_ci") else "(reference)" if row["variant"] == "logits"
                  else "–")
        terms = "logits only" if row["term"] is None else f"+ {row['term']}"
        lines.append(
            f"| {row['task']} ({row['metric']}) | {terms} | {_num(row['teacher'])} | {_num(row['score'])} "
            f"[{_num(ci[0] if ci else None, 3)}, {_num(ci[1] if ci else None, 3)}] | {_num(row['retention'], 3)} "
            f"| {versus} | {_num(row['distill_s'], 0)} |"
        )
    return "\n".join(lines) + "\n"


def write_table(out: Path) -> Path:
    """Read every ``<task>-<variant>.json`` in ``out`` and write ``out/ABLATION.md``."""
    files: dict[tuple[str, str], RunResults] = {}
    sources = []
    for task in CAPS:
        for variant in VARIANTS:
            path = out / f"{task}-{variant}.json"
            if path.exists():
                files[(task, variant)] = load_results(path)
                sources.append(path.name)
    target = out / "ABLATION.md"
    target.write_text(render(ablation_rows(files), sources), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, help="folder with the real data sets (../shared/data)")
    parser.add_argument("tasks", nargs="*", help=f"tasks (default: {', '.join(CAPS)})")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ablation")
    parser.add_argument("--table-only", action="store_true", help="only rewrite ABLATION.md from the results files")
    args = parser.parse_args()
    if not args.table_only:
        if args.data_dir is None:
            parser.error("DATA_DIR is needed unless --table-only")
        unknown = sorted(set(args.tasks) - set(CAPS))
        if unknown:
            parser.error(f"unknown task(s) {unknown}; known: {', '.join(CAPS)}")
        run_variants(args.data_dir, args.tasks or list(CAPS), args.out)
    print(f"wrote {write_table(args.out)}")


if __name__ == "__main__":
    main()
