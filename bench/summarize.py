"""The real-data benchmark's table: every bench/results/<task>.json against the quality bars of issue #8.

Prints a Markdown table (and writes it to bench/results/summary.md). Every figure is read from the
results files, which record how each was measured; nothing is typed in by hand.

    .venv/bin/python bench/summarize.py [--results bench/results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("sst2", "ag_news", "mrpc", "stsb", "conll2003", "tydiqa_goldp_en", "aeslc", "multi30k")
# Teacher bars (primary metric); generation tasks must beat their copy-the-input baseline instead.
TEACHER_BARS = {"sst2": 0.88, "conll2003": 0.85, "stsb": 0.85, "mrpc": 0.85, "tydiqa_goldp_en": 0.60}
RETENTION_BAR, SPEEDUP_BAR, INT8_POINTS_BAR = 0.97, 2.5, 0.01


def _p50(record: dict[str, Any]) -> float | None:
    block = record.get("latency_ms", {}).get("batch_1")
    return float(block["p50"]) if block and block.get("p50") else None


def _train_s(record: dict[str, Any] | None) -> float | None:
    return (record.get("train") or {}).get("wall_s") if record else None


def _find(records: list[dict], role: str, fmt: str) -> dict | None:
    return next((r for r in records if r["role"] == role and r["format"] == fmt), None)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The row of one task: teacher, student and int8 figures, and which bars they meet."""
    records = results["records"]
    task = records[0]["task"]
    teacher, student = _find(records, "teacher", "pytorch"), _find(records, "student", "pytorch")
    int8 = _find(records, "student", "onnx-int8")
    row: dict[str, Any] = {
        "task": task,
        "metric": records[0]["primary_metric"],
        "train": results["config"].get("max_train"),
        "eval": teacher["eval_examples"] if teacher else None,
        "teacher": teacher["score"] if teacher else None,
        "teacher_ci": teacher.get("score_ci") if teacher else None,
        "student": student["score"] if student else None,
        "int8": int8["score"] if int8 else None,
        "int8_status": int8["status"] if int8 else None,
        "wall_s": results.get("wall_s"),
        # Training cost as recorded with each model: it stays true when a later run takes the model from the cache.
        "train_s": [_train_s(teacher), _train_s(student)],
    }
    # Speedup of each student format over the teacher in PyTorch at batch 1 (the scorecards' definition).
    row["speedups"] = {}
    row["retentions"] = {}
    if teacher and teacher["score"] and _p50(teacher):
        for fmt in ("pytorch", "onnx", "onnx-int8"):
            variant = _find(records, "student", fmt)
            if variant and variant["score"] is not None and variant["status"] == "ok" and _p50(variant):
                row["speedups"][fmt] = _p50(teacher) / _p50(variant)
                row["retentions"][fmt] = variant["score"] / teacher["score"]
    row["retention"] = row["retentions"].get("pytorch")
    if student and int8 and int8["score"] is not None:
        row["int8_drop"] = student["score"] - int8["score"]
    baseline = results.get("baselines", {}).get(task)
    row["baseline"] = baseline.get("score") if baseline else None
    row["baseline_name"] = baseline.get("name") if baseline else None
    bars: dict[str, bool] = {}
    if task in TEACHER_BARS and row["teacher"] is not None:
        bars[f"teacher >= {TEACHER_BARS[task]}"] = row["teacher"] >= TEACHER_BARS[task]
    if baseline and baseline.get("name") == "copy the input" and row["teacher"] is not None:
        bars["teacher > copy the input"] = row["teacher"] > row["baseline"]
    if task == "sst2":
        bars[f"a student format with retention >= {RETENTION_BAR} at speedup >= {SPEEDUP_BAR}x"] = any(
            row["retentions"][fmt] >= RETENTION_BAR and row["speedups"][fmt] >= SPEEDUP_BAR for fmt in row["speedups"]
        )
        if row.get("int8_drop") is not None:
            bars["int8 costs <= 1 point"] = row["int8_drop"] <= INT8_POINTS_BAR
    row["bars"] = bars
    return row


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | metric | train / eval | teacher [95 % CI] | student (3 layers) | retention | "
        "speedup b1 (pt / onnx / int8) | int8 (drop) | baseline | bars | training s (teacher + student) | run wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ci = row["teacher_ci"]
        teacher = _fmt(row["teacher"]) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        int8 = _fmt(row["int8"]) + (f" ({-row['int8_drop']:+.3f})" if row.get("int8_drop") is not None else "")
        if row["int8_status"] == "failed":
            int8 += " failed parity"
        bars = "; ".join(f"{'✅' if ok else '❌'} {name}" for name, ok in row["bars"].items()) or "–"
        baseline = f"{_fmt(row['baseline'])} ({row['baseline_name']})" if row["baseline_name"] else "–"
        speedup = " / ".join(
            f"{row['speedups'][fmt]:.2f}x" if fmt in row["speedups"] else "–" for fmt in ("pytorch", "onnx", "onnx-int8")
        )
        lines.append(
            f"| {row['task']} | {row['metric']} | {_fmt(row['train'])} / {_fmt(row['eval'])} | {teacher} | "
            f"{_fmt(row['student'])} | {_fmt(row.get('retention'))} | {speedup} | {int8} | {baseline} | {bars} | "
            f"{' + '.join(_fmt(t, 0) for t in row['train_s'])} | {_fmt(row['wall_s'], 0)} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    loaded = [json.loads(path.read_text()) for task in ORDER if (path := args.results / f"{task}.json").is_file()]
    if not loaded:
        raise SystemExit(f"{args.results}: no <task>.json results yet; run bench/real_data.sh DATA_DIR first")
    rows = [summarize(results) for results in loaded]
    first = loaded[0]["environment"]
    text = table(rows) + (
        f"\n\nMachine: {first.get('cpu', '?')}, {first.get('cpu_count', '?')} cores; torch {first.get('torch', '?')}, "
        f"transformers {first.get('transformers', '?')}, onnxruntime {first.get('onnxruntime', '?')}. "
        "Speedup: teacher PyTorch p50 / student p50 in each format at batch 1 (1 thread, isolated process). "
        "int8 drop: student int8 score minus student PyTorch score. Training s: the wall time of the fine-tuning "
        "and of the distillation that made the models. Run wall: the run that wrote the results file; a model it "
        "took from the stage cache adds no training time to it.\n"
    )
    (args.results / "summary.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
