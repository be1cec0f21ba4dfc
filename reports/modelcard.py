"""The model card (README.md) of a shipped model: Hub front matter, then what the run measured of it.

The front matter follows the Hugging Face Hub's model card metadata: ``license``, ``base_model``,
``pipeline_tag``, ``tags`` and a ``model-index`` with one result (task type, dataset, every metric, the
primary one named with its bootstrap CI). It is written with ``yaml.safe_dump`` after every string went
through :func:`reports.escape.printable`; every user string in the Markdown body goes through
:func:`reports.escape.md` (names, labels, paths) or :func:`reports.escape.md_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from harness.results import Record, RunResults, Scorecard
from harness.ship import BaseModel, KindUsage, PipelineCall, task_spec
from harness.ship_files import SHIP_SIGNATURE
from reports.escape import md, md_code, printable
from reports.scorecard import build_scorecards

UNKNOWN_LICENCE = "unknown: check the base model's licence"
_PLACEHOLDER_DIR = "path/to/this/folder"


@dataclass(frozen=True)
class CardInputs:
    """What the card says besides the run itself: how the model is loaded, where it came from, and how it was
    shipped (``version``: reusebench's; ``command``: the ship command line; ``recommendation``: why this one)."""

    usage: KindUsage | None
    call: PipelineCall
    ort_kwargs: dict[str, Any]
    base: BaseModel
    version: str
    command: str
    recommendation: str | None = None


def _clean(value: Any) -> Any:
    """Front-matter values: strings printable on one line, containers cleaned recursively."""
    if isinstance(value, str):
        return printable(value, one_line=True)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return f"{value:.{digits}g}" if abs(value) >= 1e4 else f"{round(value, digits):g}"


def _dataset(spec: dict[str, Any], task: str) -> dict[str, Any]:
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    source = data.get("source")
    if source == "hub":
        found = {"name": task, "type": data.get("id"), "split": data.get("eval", "validation")}
        return {**found, "config": data["config"]} if data.get("config") else found
    if source == "builtin":
        return {"name": task, "type": f"reusebench-builtin/{data.get('generator')}", "split": "validation"}
    return {"name": task, "type": f"local/{data.get('path', task)}"}


def front_matter(results: RunResults, record: Record, inputs: CardInputs) -> dict[str, Any]:
    """The Hub metadata of the card (before cleaning)."""
    spec = task_spec(results, record.task)
    fmt = str(record.format)
    tags = ["reusebench", record.kind, fmt]
    if record.format.is_onnx:
        tags.append("onnx")
    if "int8" in fmt:
        tags.append("int8")
    if record.role == "student":
        tags.append("distillation")
    metrics = []
    if record.score is not None:
        ci = f" (95% bootstrap CI [{record.score_ci.low:.4f}, {record.score_ci.high:.4f}])" if record.score_ci else ""
        metrics.append({"type": record.primary_metric, "value": round(record.score, 4),
                        "name": f"{record.primary_metric}{ci}", "verified": False})
    for name, value in record.metrics.items():
        if name != record.primary_metric and isinstance(value, int | float):
            metrics.append({"type": name, "value": round(float(value), 4), "name": name, "verified": False})
    meta: dict[str, Any] = {"library_name": "transformers", "license": inputs.base.licence or "unknown"}
    if inputs.base.hub_id:
        meta["base_model"] = inputs.base.hub_id
    if inputs.usage is not None:
        meta["pipeline_tag"] = inputs.usage.pipeline
    meta["tags"] = tags
    task_type = inputs.usage.hub_task if inputs.usage else record.kind
    meta["model-index"] = [{"name": record.model, "results": [{
        "task": {"type": task_type, "name": record.task},
        "dataset": _dataset(spec, record.task),
        "metrics": metrics,
    }]}]
    return meta


def _usage(record: Record, inputs: CardInputs) -> list[str]:
    usage, call = inputs.usage, inputs.call
    if usage is None:
        return [f"No `transformers` pipeline is known for the task kind {md(record.kind)}; load the folder with "
                "`transformers` or `onnxruntime` directly.", ""]
    kwargs = ", ".join(f"{k}={v!r}" for k, v in call.kwargs.items())
    example = _call_example(record.kind, call, kwargs)
    folder = repr(_PLACEHOLDER_DIR)
    if record.format.is_onnx:
        extra = "".join(f", {k}={v!r}" for k, v in inputs.ort_kwargs.items())
        code = [f"from optimum.onnxruntime import {usage.ort_class}", "from transformers import AutoTokenizer, pipeline",
                "", f"model = {usage.ort_class}.from_pretrained({folder}{extra})",
                f"tokenizer = AutoTokenizer.from_pretrained({folder})",
                f"pipe = pipeline({usage.pipeline!r}, model=model, tokenizer=tokenizer)"]
    else:
        code = ["from transformers import pipeline", "", f"pipe = pipeline({usage.pipeline!r}, model={folder})"]
    lines = ["```python", *code, example, "```", ""]
    return lines + [_returns(record, inputs), ""]


def _call_example(kind: str, call: PipelineCall, kwargs: str) -> str:
    sep = ", " if kwargs else ""
    if kind == "qa":
        return f'print(pipe(question="Who founded it?", context="...", {kwargs}))'
    if "text_pair" in call.inputs:
        return f'print(pipe({{"text": "first text", "text_pair": "second text"}}{sep}{kwargs}))'
    if kind == "ner":
        return f'print(pipe(" ".join(["Anna", "lives", "in", "Paris"]){sep}{kwargs}))'
    return f'print(pipe("an example input"{sep}{kwargs}))'


def _returns(record: Record, inputs: CardInputs) -> str:
    """What the pipeline returns, and how the evaluation read the same outputs."""
    kind, call = record.kind, inputs.call
    if kind == "similarity" and "function_to_apply" in call.kwargs:
        return ("The pipeline returns `{'label': 'LABEL_0', 'score': s}` per pair: `s` is the model's similarity "
                "score on the task's scale (a regression head; `function_to_apply='none'` keeps it raw).")
    if kind in ("classification", "similarity"):
        return "The pipeline returns the most likely label (the task's labels, in `config.json`'s `id2label`)."
    if kind == "ner":
        return ("With `aggregation_strategy='none'` the pipeline returns one tag per word piece; a word's tag is the "
                "tag of its first piece, as the evaluation reads it (words cut off at `max_length` are `O`).")
    if kind == "qa":
        return ("The pipeline returns the answer span of the context. The evaluation scores spans by start + end "
                "logit over all windows; the pipeline compares windows by per-window probabilities, so a context "
                "longer than one window (`max_seq_len` tokens) can give another span.")
    if kind == "generation":
        return ("Greedy decoding as in the evaluation: without `num_beams=1` and `max_new_tokens` the pipeline "
                "uses its own defaults (4 beams, 256 new tokens), which `generation_config.json` cannot override.")
    return ""


def _scorecard(results: RunResults, record: Record) -> Scorecard | None:
    cards = results.scorecards or build_scorecards(results.records)
    return next((c for c in cards if c.task == record.task and c.student == record.model
                 and str(c.format) == str(record.format)), None)


def _evaluation(results: RunResults, record: Record) -> list[str]:
    ci = f" (95% bootstrap CI [{_num(record.score_ci.low)}, {_num(record.score_ci.high)}])" if record.score_ci else ""
    data = getattr(record, "data", None)
    origin = data.get("eval", "n/a") if isinstance(data, dict) else "n/a"
    lines = ["## Evaluation", "",
             f"On the eval split of task {md(record.task)} ({record.eval_examples} examples; data: "
             f"{md(origin)}): {md(record.primary_metric)} "
             f"**{_num(record.score)}**{ci}.", "", "| metric | value |", "|---|---|"]
    lines += [f"| {md(name)} | {_num(value)} |" for name, value in record.metrics.items()]
    card = _scorecard(results, record)
    lines += ["", "## Reuse scorecard", ""]
    if card is None:
        lines.append(f"The reference of the run's scorecards: the teacher {md(record.model)} in PyTorch (retention 1, "
                     "speedup 1, compression 1 by definition).")
    else:
        lines += ["| teacher | retention | speedup (batch 1) | compression | training s | reuse score | vs the teacher |",
                  "|---|---|---|---|---|---|---|",
                  f"| {md(card.teacher)} | {_num(card.retention)} | {_num(card.speedup)} | {_num(card.compression)} | "
                  f"{_num(card.train_cost_s)} | {_num(card.reuse_score)} | {md(card.equivalence or 'n/a')} |"]
    return lines + [""]


def _speed(results: RunResults, record: Record) -> list[str]:
    env = results.environment
    cpu = env.get("cpu") or "an unknown CPU"
    isa = env.get("isa_summary") or ", ".join(env.get("cpu_flags") or []) or "flags unknown"
    lines = ["## Latency and memory", "",
             f"Measured by reusebench on {md(cpu)} ({md(isa)}), {md(env.get('measure_threads', 'n/a'))} thread(s), "
             "in a fresh process per (model, format):", "", "| batch | p50 ms | p90 ms | ms per token | runs | noisy |",
             "|---|---|---|---|---|---|"]
    blocks = sorted(record.latency_ms.items(), key=lambda kv: (len(kv[0]), kv[0]))
    for key, block in blocks:
        lines.append(f"| {md(key.removeprefix('batch_'))} | {_num(block.p50)} | {_num(block.p90)} | "
                     f"{_num(block.ms_per_token)} | {_num(block.n)} | {'yes' if block.noisy else 'no'} |")
    lines += ["", f"Peak memory (RSS) {_num(record.peak_rss_mb)} MB; weights {_num(record.size_mb)} MB on disk; "
              f"{record.params:,} parameters.", ""]
    return lines


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(md(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{md(k)} {md(v)}" for k, v in value.items())
    return md(value)


def _recipe(values: Any) -> str:
    if not isinstance(values, dict):
        return "n/a"
    return "; ".join(f"{md(k)} {_value(v)}" for k, v in values.items() if v is not None) or "defaults"


def _lineage(results: RunResults, record: Record, inputs: CardInputs) -> list[str]:
    spec, lineage, env = task_spec(results, record.task), record.lineage, results.environment
    base = inputs.base
    teacher = md(record.teacher or base.name or "unknown")
    lines = ["## Lineage", "",
             f"- **Base model**: {md(base.hub_id or base.name or 'unknown')}; teacher {teacher}, fine-tuned on "
             f"{md(record.task)} ({_recipe(spec.get('training'))})."]
    if record.role == "student":
        lines.append(f"- **Distilled** from {md(lineage.distilled_from or 'the teacher')}, student "
                     f"{md(lineage.base_model or record.model)}; recipe: {_recipe(spec.get('distillation'))}"
                     " (loss weights: the kind's defaults when none are listed).")
    if record.format.is_onnx:
        versions = env.get("versions") or {}
        lines.append(f"- **Exported** to ONNX through optimum {md(versions.get('optimum', ''))} from "
                     f"{md(lineage.exported_from or record.model)}; run by onnxruntime {md(env.get('onnxruntime', ''))}.")
    if "int8" in str(record.format):
        how = _recipe(record.quantization) if record.quantization else "dynamic int8 through onnxruntime"
        lines.append(f"- **Quantized** ({md(record.format)}) from {md(lineage.quantized_from or 'the ONNX model')}: "
                     f"{how}. Its speed depends on the CPU's int8 instructions; measured on {md(env.get('cpu', 'n/a'))} "
                     f"({md(env.get('isa_summary') or 'flags unknown')}).")
    return lines + [""]


def _provenance(results: RunResults, record: Record, inputs: CardInputs) -> list[str]:
    env, config = results.environment, results.config
    dirty = " (uncommitted changes)" if env.get("git_dirty") else ""
    settings = {k: config.get(k) for k in ("teachers", "students", "seed", "max_train", "max_eval", "data_dir")}
    licence = inputs.base.licence
    lines = ["## Licence", "",
             (f"{md(licence)}, the licence of the base model {md(inputs.base.hub_id or inputs.base.name)}."
              if licence else f"{UNKNOWN_LICENCE} ({md(inputs.base.hub_id or inputs.base.name or 'unknown')})."),
             "", "## How it was made", "",
             f"- reusebench {md(inputs.version)}, run {md(results.run_id)} of {md(results.created_at)}, suite "
             f"{md(results.suite)}, commit {md(env.get('git_commit') or 'unknown')}{dirty}.",
             f"- Run settings: {_recipe(settings)}.",
             f"- Shipped with {md_code(inputs.command)}.", ""]
    return lines


def render_model_card(results: RunResults, record: Record, inputs: CardInputs) -> str:
    """The README.md of a shipped (model, format): front matter, usage, evaluation, scorecard, latency and
    memory, lineage, licence and provenance."""
    meta = yaml.safe_dump(_clean(front_matter(results, record, inputs)), sort_keys=False, allow_unicode=True,
                          width=1_000_000)  # no wrapped scalars: every value on its own line
    role = "distilled student" if record.role == "student" else "fine-tuned teacher"
    lines = ["---", meta.rstrip("\n"), "---", SHIP_SIGNATURE, "",
             f"# {md(record.model)} ({md(record.format)})", "",
             f"The {role} {md(record.model)} for the reusebench task {md(record.task)} (kind {md(record.kind)}), "
             f"in {md(record.format)}."]
    if inputs.recommendation:
        lines += ["", f"Recommendation: {md(inputs.recommendation)}"]
    lines += ["", "## Use it", ""] + _usage(record, inputs)
    lines += _evaluation(results, record) + _speed(results, record) + _lineage(results, record, inputs)
    lines += _provenance(results, record, inputs)
    return "\n".join(lines).rstrip("\n") + "\n"
