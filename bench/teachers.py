"""Writes bench/results/teachers/TEACHERS.md: teachers compared on the same eval examples (issue #17).

Reads matrix runs (``reusebench run --teacher A --teacher B ...``, one results.json per task, as bench/teachers.sh
writes them). For each task and teacher: the fine-tuned teacher's score and CI (the run's bootstrap), its
parameters, training time and batch-1 latency, and its best student format (retention and batch-1 speedup over
that teacher in PyTorch). Each teacher after the first is then compared with the first on the same eval
examples: the paired bootstrap difference of the primary metric with its 95 % CI and McNemar's p where
examples are right or wrong (``tasks.metrics.paired.paired_summary``, the statistics ``reusebench compare``
uses). Every figure is read from the results files or computed from their per-example predictions.

    .venv/bin/python bench/teachers.py bench/results/teachers/*.json [--out bench/results/teachers/TEACHERS.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.results import Record, RunResults, load_results  # noqa: E402
from reports.adaptation import ESTIMATOR_NAMES, EstimateRow, estimate_rows, estimate_trust  # noqa: E402
from reports.ladder import Rung, ladders  # noqa: E402
from tasks.metrics.paired import paired_summary  # noqa: E402


def _p50(record: Record | None) -> float | None:
    block = record.latency_ms.get("batch_1") if record is not None else None
    return block.p50 if block is not None else None


def _teacher(records: list[Record], teacher: str) -> Record | None:
    return next((r for r in records if r.teacher == teacher and r.role == "teacher" and r.format == "pytorch"
                 and r.status == "ok"), None)


def _best_student(rungs: list[Rung]) -> Rung | None:
    """The ladder's student with the highest score (ties: the faster one)."""
    return max(rungs, key=lambda rung: (rung.score, rung.speedup or 0.0), default=None)


def _adapted(records: list[Record], teacher: str, method: str) -> float | None:
    """The score of ``teacher`` adapted by ``method`` (``probe``, ``lora``) in PyTorch, if the run has it."""
    return next((r.score for r in records if r.teacher == teacher and r.role == "adapted" and r.format == "pytorch"
                 and r.model.endswith(f"({method})") and r.status == "ok"), None)


def _retention_withheld(results: RunResults, task: str, teacher: str) -> bool:
    """Whether the run withheld the retention of ``teacher``'s students on ``task``: a teacher that does not
    beat the task's trivial baseline by more than its CI (reports/scorecard.py) has nothing to retain."""
    return any(card.task == task and card.teacher == teacher and card.role == "student"
               and card.retention is None and card.retention_reported is False for card in results.scorecards)


def task_rows(results: RunResults) -> list[dict[str, Any]]:
    """One row per (task, teacher), the first teacher being the reference of the paired comparison."""
    rows = []
    ladder = ladders(results)
    for task in dict.fromkeys(r.task for r in results.records):
        records = [r for r in results.records if r.task == task]
        teachers = list(dict.fromkeys(r.teacher for r in records if r.role == "teacher"))
        reference = _teacher(records, teachers[0]) if teachers else None
        eval_set = results.eval_sets.get(task)
        for name in teachers:
            record = _teacher(records, name)
            if record is None:
                continue
            row = {"task": task, "teacher": name, "metric": record.primary_metric, "score": record.score,
                   "ci": list(record.score_ci) if record.score_ci else [None, None], "examples": record.eval_examples, "params_m": record.params / 1e6,
                   "train_s": record.train.wall_s if record.train else None, "p50_ms": _p50(record),
                   "student": _best_student(ladder.get((task, name), [])), "ladder": ladder.get((task, name), []),
                   "probe": _adapted(records, name, "probe"), "lora": _adapted(records, name, "lora"),
                   "withheld": _retention_withheld(results, task, name)}
            if record is not reference and reference is not None and eval_set is not None and record.predictions:
                paired = paired_summary(
                    eval_set.metric or "", reference.predictions, record.predictions, eval_set.references,
                    primary=record.primary_metric, reference_metrics=reference.metrics, metrics=record.metrics,
                    metric_kwargs=eval_set.metric_kwargs, seed=0,
                )
                row["paired"] = {"against": reference.teacher, "difference": paired.get("difference"),
                                 "ci": paired.get("difference_ci"), "mcnemar_p": paired.get("mcnemar_p")}
            rows.append(row)
    return rows


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def render(rows: list[dict[str, Any]], sources: list[tuple[str, RunResults]]) -> str:
    lines = [
        f"<!-- Generated by bench/teachers.py from {', '.join(path for path, _ in sources)}; do not edit by hand. -->",
        "# Teachers side by side on real data",
        "",
        "Each task is one matrix run (`bench/teachers.sh`, `bench/smollm2.sh`): every teacher fine-tuned on the same "
        "seeded training subset with the task definition the script names, scored on the same eval examples, each "
        "distilled into the same "
        "layer-subset students and exported to ONNX and int8. *linear probe*, *LoRA*: the same teacher adapted "
        "the cheaper ways (docs/adaptation.md), in PyTorch. *score*: the teacher in PyTorch, with its 95 % bootstrap CI. "
        "*paired difference*: this teacher minus the first one on the same examples (paired bootstrap, 95 % CI) "
        "and McNemar's p. *best student*: the student format with the highest score, its retention of its own "
        "teacher and its batch-1 latency speedup over that teacher in PyTorch.",
        "",
        "| task | teacher | params (M) | score [95 % CI] | paired difference [95 % CI] | McNemar p | train (s) "
        "| batch-1 p50 (ms) | linear probe | LoRA | best student | retention | speedup |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ci = row["ci"]
        paired = row.get("paired")
        diff = (f"{paired['difference']:+.4f} [{paired['ci'][0]:+.4f}, {paired['ci'][1]:+.4f}]"
                if paired and paired["difference"] is not None and paired["ci"] else "(reference)")
        student = row["student"]
        named = (f"{student.student} ({student.format})" if student else
                 "withheld: the teacher does not beat the trivial baseline" if row.get("withheld") else "–")
        lines.append(
            f"| {row['task']} ({row['metric']}, {row['examples']} eval) | {row['teacher']} | {row['params_m']:.1f} "
            f"| {_num(row['score'], 4)} [{_num(ci[0])}, {_num(ci[1])}] | {diff} "
            f"| {_p(paired.get('mcnemar_p') if paired else None)} | {_num(row['train_s'], 0)} "
            f"| {_num(row['p50_ms'], 1)} | {_num(row['probe'], 4)} | {_num(row['lora'], 4)} | {named} "
            f"| {_num(student.retention if student else None)} | "
            f"{(_num(student.speedup, 1) + '×') if student else '–'} |"
        )
    lines += [
        "", "## Each teacher's compression ladder", "",
        "Every student at its best format (highest score; ties: the faster), smallest first. *retention*: its score "
        "over its own teacher's; *speedup*: its batch-1 p50 latency against that teacher's in PyTorch. The bar of "
        "issue #16 is retention ≥ 0.97 at ≥ 2.5×.", "",
        "| task | teacher | student | params (M) | format | score | retention | speedup | bar |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for rung in row["ladder"]:
            speedup = rung.speedup or 0.0
            bar = "yes" if rung.keeps_teacher and speedup >= 2.5 else "no"
            lines.append(f"| {row['task']} | {row['teacher']} | {rung.student} | {rung.params / 1e6:.1f} | "
                         f"{rung.format} | {rung.score:.4f} | {rung.retention:.3f} | {speedup:.1f}× | {bar} |")
    lines += selection_lines([row for _, results in sources for row in estimate_rows(results)])
    lines += ["", "Runs:", ""]
    for path, results in sources:
        env = results.environment or {}
        cpu = env.get("cpu") if isinstance(env, dict) else None
        caps = (results.config or {}).get("max_train"), (results.config or {}).get("max_eval")
        reused = any(getattr(record, "cached", False) for record in results.records)
        wall = (f"{results.wall_s:.0f} s wall for this last run, which reuses stages cached by earlier runs of the "
                "script; *train (s)* is each model's own training" if reused else f"{results.wall_s:.0f} s wall")
        lines.append(f"- `{path}`: run {results.run_id} ({wall}), train cap {caps[0]}, eval cap "
                     f"{caps[1]}, CPU {cpu}, commit {env.get('git_commit') if isinstance(env, dict) else None}")
    return "\n".join(lines) + "\n"


def selection_lines(rows: list[EstimateRow]) -> list[str]:
    """Whether each transferability estimate ranks the teachers of a task as fine-tuning did, and Kendall's τ
    between each estimate and the fine-tuned scores over every (task, teacher) pair of the files."""
    lines = [
        "", "## Do the estimates pick the better teacher?", "",
        "LogME and H-score of each pretrained model's frozen features on the task's training subset (up to 1,000 "
        "examples, before any training; docs/adaptation.md), against the score that model reached fine-tuned. "
        "*picks*: the teacher each estimate ranks first, and whether fine-tuning agrees. *τ*: Kendall's τ over "
        "every (task, teacher) pair below; the tasks' metrics differ, so within-task agreement is the figure that "
        "model selection rests on.", "",
        "| task | teacher | LogME | H-score | fine-tuned score |", "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [_num(row.value(key)) for key in ("logme", "hscore")]
        lines.append(f"| {row.task} | {row.teacher} | {cells[0]} | {cells[1]} | {_num(row.record.score, 4)} |")
    lines.append("")
    for task in dict.fromkeys(row.task for row in rows):
        candidates = [row for row in rows if row.task == task and row.record.score is not None]
        if len(candidates) < 2:
            continue
        best = max(candidates, key=lambda row: row.record.score).teacher
        for estimator in ("logme", "hscore"):
            scored = [row for row in candidates if row.value(estimator) is not None]
            if len(scored) < 2:
                continue
            picked = max(scored, key=lambda row: row.value(estimator)).teacher
            verdict = "agrees" if picked == best else f"disagrees (fine-tuning ranks {best} first)"
            lines.append(f"- {task}: {ESTIMATOR_NAMES[estimator]} picks {picked}; fine-tuning {verdict}")
    for trust in (t for t in estimate_trust(rows) if t.pairs):  # LEEP has no value for a pretrained encoder
        name = ESTIMATOR_NAMES[trust.estimator]
        lines.append(f"- {name} over all pairs: " + (
            f"no τ ({trust.reason})" if trust.tau is None
            else f"τ = {trust.tau:+.2f} (p = {trust.p_value:.3f}, {trust.pairs} pairs)"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="matrix results.json files, one per task")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/teachers/TEACHERS.md")
    args = parser.parse_args()
    sources = [(str(path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path), load_results(path))
               for path in args.results]
    rows = [row for _, results in sources for row in task_rows(results)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows, sources), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
