"""The teacher memo (harness.teacher_memo): the teacher's outputs kept from a distillation's first epoch come
back for the same inputs, whatever the batch, its order or its padding, and a run with the memo trains the
student as one without it does, at a third of the teacher's forward passes over three epochs."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
import torch

from harness.cli import main
from harness.intermediate import INTERMEDIATE_TERMS
from harness.teacher_memo import TeacherMemo, memo_applies
from tasks.kinds import get_kind
from tests.tiny_models import save_tiny_model


def batch(rows: list[list[int]], width: int, left: bool = False) -> dict[str, torch.Tensor]:
    """Token-id rows padded with 0 to ``width`` (on the left when ``left``), with their attention mask."""
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span], mask[i, span] = torch.tensor(row), 1
    return {"input_ids": ids, "attention_mask": mask}


def fake_teacher(inputs: dict[str, torch.Tensor]) -> SimpleNamespace:
    """Per-token logits that depend on each token id only (what a teacher's would be, to summation order)."""
    ids = inputs["input_ids"].float()
    return SimpleNamespace(start_logits=ids * 2.0 + 1.0, end_logits=-ids, logits=ids.sum(dim=1, keepdim=True))


def test_per_token_outputs_come_back_at_the_real_tokens_in_any_batch_and_padding():
    for left, width in ((False, 6), (True, 4)):
        memo = TeacherMemo(("start_logits", "end_logits"), per_token=True)
        first = batch([[5, 6, 7], [8, 9]], width=4, left=left)
        assert memo.lookup(first) is None and memo.misses == 1
        memo.store(first, fake_teacher(first))
        assert len(memo) == 2
        # The same two examples, the other way round (right-padded: to another length too).
        again = batch([[8, 9], [5, 6, 7]], width=width, left=left)
        outputs = memo.lookup(again)
        assert outputs is not None and memo.hits == 1
        expected = fake_teacher(again)
        mask = again["attention_mask"].bool()
        for name in ("start_logits", "end_logits"):
            got = getattr(outputs, name)
            assert got.shape == (2, width)
            assert torch.equal(got[mask], getattr(expected, name)[mask])
            assert torch.equal(got[~mask], torch.zeros(int((~mask).sum())))  # padding: zeros, ignored by the terms
    # Padded on the left by another amount, the tokens sit at other positions: another input.
    assert memo.lookup(batch([[8, 9], [5, 6, 7]], width=6, left=True)) is None


def test_per_example_outputs_and_misses():
    memo = TeacherMemo(("logits",), per_token=False)
    first = batch([[5, 6, 7], [8, 9]], width=3)
    memo.store(first, fake_teacher(first))
    outputs = memo.lookup(batch([[8, 9], [5, 6, 7], [8, 9]], width=5))
    assert outputs is not None and outputs.logits.flatten().tolist() == [17.0, 18.0, 17.0]
    assert memo.lookup(batch([[8, 9], [1, 2]], width=2)) is None  # one new example: the teacher runs
    # token types are part of an input: the same ids with other segments are another input
    typed = {**first, "token_type_ids": torch.ones_like(first["input_ids"])}
    assert memo.lookup(typed) is None


def test_a_full_memo_keeps_what_it_has_and_the_teacher_runs_for_the_rest():
    memo = TeacherMemo(("logits",), per_token=False, max_bytes=8)  # room for two float32 logits
    first = batch([[5], [6], [7]], width=1)
    memo.store(first, fake_teacher(first))
    assert len(memo) == 2 and memo.bytes == 8 and memo.full
    assert memo.lookup(batch([[6], [5]], width=1)).logits.flatten().tolist() == [6.0, 5.0]
    assert memo.lookup(first) is None  # [7] was not kept


def test_where_the_memo_applies():
    terms = frozenset(INTERMEDIATE_TERMS)
    for name in ("classification", "similarity", "ner", "qa"):
        assert memo_applies(get_kind(name), {"hard_ce": 0.5, "kd_kl": 0.5}, True, terms), name
    assert not memo_applies(get_kind("generation"), {"hard_ce": 0.2, "kd_kl": 0.8}, True, terms)  # vocab logits
    assert not memo_applies(get_kind("qa"), {"kd_kl": 1.0, "hidden_mse": 1.0}, True, terms)  # needs hidden states
    assert memo_applies(get_kind("qa"), {"kd_kl": 1.0, "hidden_mse": 0.0}, True, terms)  # weighted 0: not computed
    assert not memo_applies(get_kind("ner"), {"kd_kl": 1.0}, False, terms)  # reuse_teacher_outputs: false


TASKS = {
    "classification": """
name: memo-{name}
kind: classification
data: {{source: builtin, generator: sentiment, train_size: 48, eval_size: 16, seed: 1}}
columns: {{text: text, label: label}}
labels: [negative, positive]
max_length: 32
primary_metric: accuracy
training: {{epochs: 1, learning_rate: 1.0e-4, batch_size: 8}}
distillation: {{epochs: 3, reuse_teacher_outputs: {reuse}}}
""",
    "qa": """
name: memo-{name}
kind: qa
data: {{source: builtin, generator: qa, train_size: 32, eval_size: 16, seed: 1}}
columns: {{id: id, question: question, context: context, answers: answers}}
max_length: 96
primary_metric: f1
training: {{epochs: 1, learning_rate: 1.0e-4, batch_size: 8}}
distillation: {{epochs: 3, reuse_teacher_outputs: {reuse}}}
""",
}
SUITE = """
name: memo
tasks: [{tasks}]
students: ["layers=1"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""


@pytest.mark.slow
def test_a_distillation_with_the_memo_matches_one_without(tmp_path):
    teacher = save_tiny_model(tmp_path / "pretrained", layers=2, max_positions=128)
    students = {}
    for reuse in ("true", "false"):
        paths = []
        for kind, text in TASKS.items():
            path = tmp_path / f"{kind}-{reuse}.yaml"
            path.write_text(text.format(name=kind, reuse=reuse))
            paths.append(str(path))
        suite = tmp_path / f"suite-{reuse}.yaml"
        suite.write_text(SUITE.format(tasks=", ".join(paths)))
        out = tmp_path / f"run-{reuse}"
        assert main(["run", "--suite", str(suite), "--teacher", str(teacher), "--quiet", "--bootstrap", "20",
                     "--no-cache", "--threads", "1", "--out", str(out)]) == 0
        records = json.loads((out / "results.json").read_text())["records"]
        students[reuse] = {r["task"]: r for r in records if r["role"] == "student"}
        log = (out / "run.log").read_text()
        ran = [(int(k), int(m)) for k, m in re.findall(r"the teacher ran on (\d+) of (\d+) batches", log)]
        if reuse == "true":  # per task: the first of three epochs
            assert len(ran) == 2 and all(3 * k == m for k, m in ran), ran
        else:
            assert not ran
    for task, kept in students["true"].items():
        rerun = students["false"][task]
        assert kept["status"] == rerun["status"] == "ok"
        # the same student, to floating-point summation order
        assert kept["train"]["final_loss"] == pytest.approx(rerun["train"]["final_loss"], rel=1e-3), task
        assert kept["score"] == pytest.approx(rerun["score"], abs=1e-6), task
        assert kept["train"]["tokens"] == rerun["train"]["tokens"]
        # FLOPs: 6·N_s·D·3 + 2·N_t·D·3 without the memo, 6·N_s·D·3 + 2·N_t·D with it
        assert kept["train"]["flops"] < rerun["train"]["flops"]
