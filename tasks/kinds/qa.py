"""Extractive question answering (SQuAD v1.1 format), scored by the official SQuAD EM/F1.

Preprocessing follows Hugging Face's ``run_qa.py``: question first, context second, truncation of
the context only, windows of ``max_length`` tokens that overlap by ``doc_stride`` tokens (the
tokenizer's ``stride``; default ``max_length // 3``, i.e. run_qa's 128 at 384). Each window is a
feature; its targets are the token positions of the first gold answer, or the [CLS] position when
the answer is not inside the window. One difference: questions longer than 64 word-pieces are cut
to 64 (BERT's ``max_query_length``; run_qa would leave a 384-token window almost no context, and the
tokenizer panics once the question leaves no more than ``doc_stride`` tokens of room).

Decoding: over all windows of an example, the ``n_best`` highest start and end logits are paired;
spans outside the context (question, special tokens, padding), with end < start or longer than
``max_answer_length`` tokens are skipped; the best start + end logit sum wins and the prediction is
the context substring its offsets cover ("" when no span is valid).

Distillation: DistilBERT's SQuAD recipe (Sanh et al. 2019, transformers
``examples/research_projects/distillation/run_squad_w_distillation.py``: ``alpha_ce 0.5``,
``alpha_squad 0.5``, ``temperature 2``): 0.5 x the mean of the start and end cross-entropies plus
0.5 x the mean of the start and end T^2-scaled KLs. Unlike that script, padding positions are
masked out of both softmaxes. The temperature comes from the task file (the QA task files set 2).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import ConfigError, DataError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.classification import require_columns
from tasks.kinds.ner import require_fast_tokenizer
from tasks.kinds.registry import register_kind

if TYPE_CHECKING:
    import datasets

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec

MAX_QUESTION_TOKENS = 64
CONTEXT = 1  # sequence id of the context (question first)
# Masked logits: exp(-1e4 / T) is 0 in float32 and float16, and the value stays finite.
MASKED_LOGIT = -1e4


def doc_stride(spec: TaskSpec) -> int:
    """Tokens shared by consecutive windows: the task's ``doc_stride`` or ``max_length // 3``."""
    return spec.doc_stride if spec.doc_stride is not None else spec.max_length // 3


def question_budget(spec: TaskSpec) -> int:
    """Most word-pieces a question may keep so that every window still has context beyond the stride."""
    stride = doc_stride(spec)
    # [CLS] question [SEP] context [SEP]: the context needs at least stride + 1 tokens.
    budget = min(MAX_QUESTION_TOKENS, spec.max_length - 3 - stride - 1)
    if budget < 1:
        raise ConfigError(
            f"task {spec.name!r}: field 'doc_stride': {stride} leaves no room for the question in "
            f"max_length {spec.max_length}; use a doc_stride below {spec.max_length - 4}"
        )
    return budget


def parse_answers(
    value: Any, origin: str, row: int, example_id: str, column: str
) -> tuple[list[str], list[int]]:
    """Answer texts and character starts from ``{"text": [...], "answer_start": [...]}`` (or a list
    of ``{"text", "answer_start"}`` dicts); at least one answer."""
    where = f"{origin}: row {row} (id {example_id!r})"
    if isinstance(value, dict):
        texts, starts = value.get("text"), value.get("answer_start")
    elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
        texts = [item.get("text") for item in value]
        starts = [item.get("answer_start") for item in value]
    else:
        raise DataError(
            f"{where}: column {column!r} must be {{'text': [...], 'answer_start': [...]}}, got {value!r}"
        )
    if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
        raise DataError(
            f"{where}: column {column!r} needs equally long 'text' and 'answer_start' lists, got {value!r}"
        )
    if not texts:
        raise DataError(f"{where}: no gold answer; SQuAD v1.1 scoring needs at least one")
    for text, start in zip(texts, starts, strict=True):
        if (
            not isinstance(text, str)
            or not text
            or isinstance(start, bool)
            or not isinstance(start, int | np.integer)
        ):
            raise DataError(
                f"{where}: answer {text!r} at {start!r}: need non-empty text and an integer answer_start"
            )
    return list(texts), [int(s) for s in starts]


def answer_token_span(
    offsets: list[tuple[int, int]],
    sequence_ids: list[int | None],
    start_char: int,
    end_char: int,
    cls_index: int,
) -> tuple[int, int]:
    """Token positions of the answer ``[start_char, end_char)`` in one window, or (cls, cls) when
    the window does not hold all of it (run_qa.py's rule)."""
    context_start = sequence_ids.index(CONTEXT)
    context_end = len(sequence_ids) - 1 - sequence_ids[::-1].index(CONTEXT)
    if not (offsets[context_start][0] <= start_char and offsets[context_end][1] >= end_char):
        return cls_index, cls_index
    start = context_start
    while start <= context_end and offsets[start][0] <= start_char:
        start += 1
    end = context_end
    while end >= context_start and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def best_span(
    windows: list[tuple[np.ndarray, np.ndarray, list]], context: str, n_best: int, max_answer_length: int
) -> str:
    """The answer text of the best valid span over an example's windows.

    ``windows`` holds (start_logits, end_logits, offsets) per window, offsets None outside the context.
    """
    best_score, best_text = -np.inf, ""
    for start_logits, end_logits, offsets in windows:
        length = min(len(start_logits), len(offsets))
        starts = np.argsort(start_logits[:length])[::-1][:n_best]
        ends = np.argsort(end_logits[:length])[::-1][:n_best]
        in_context = np.array([offsets[i] is not None for i in range(length)])
        span = ends[None, :] - starts[:, None]
        valid = (
            in_context[starts][:, None] & in_context[ends][None, :] & (span >= 0) & (span < max_answer_length)
        )
        if not valid.any():
            continue
        scores = np.where(valid, start_logits[starts][:, None] + end_logits[ends][None, :], -np.inf)
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        if scores[i, j] > best_score:
            best_score = scores[i, j]
            best_text = context[offsets[starts[i]][0] : offsets[ends[j]][1]]
    return best_text


@register_kind
class QaKind(TaskKind):
    """Span extraction with start and end logits; KD on both distributions."""

    name = "qa"
    auto_class = "AutoModelForQuestionAnswering"
    onnx_task = "question-answering"
    estimate_target = "span"
    label_keys = ("start_positions", "end_positions")
    loss_terms = ("hard_ce", "kd_kl")
    teacher_output_fields = ("start_logits", "end_logits")
    teacher_outputs_per_token = True  # its terms ignore padding positions
    # DistilBERT's SQuAD distillation defaults (alpha_squad 0.5, alpha_ce 0.5); see the module docstring.
    default_weights = {"hard_ce": 0.5, "kd_kl": 0.5}

    def metric_name(self, spec: TaskSpec) -> str:
        return "squad"

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        return ("f1", "exact_match")

    def prepare_split(
        self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool
    ) -> datasets.Dataset:
        import datasets as hf_datasets

        require_columns(split, spec.columns, ("question", "context", "answers"), origin)
        question_col = spec.columns.get("question", "question")
        context_col = spec.columns.get("context", "context")
        answers_col = spec.columns.get("answers", "answers")
        id_col = spec.columns.get("id", "id")
        if "id" in spec.columns:  # a mapped id column must exist; an unmapped one is optional
            require_columns(split, spec.columns, ("id",), origin)
        if id_col in split.column_names:
            ids = [str(v) for v in split[id_col]]
        else:
            ids = [str(i) for i in range(len(split))]
        first_row: dict[str, int] = {}
        answers = []
        for row, (example_id, question, context, value) in enumerate(
            zip(ids, split[question_col], split[context_col], split[answers_col], strict=True)
        ):
            if example_id in first_row:
                raise DataError(
                    f"{origin}: rows {first_row[example_id]} and {row} share the id {example_id!r}"
                )
            first_row[example_id] = row
            for column, text in ((question_col, question), (context_col, context)):
                if not isinstance(text, str) or not text.strip():
                    raise DataError(
                        f"{origin}: row {row} (id {example_id!r}): column {column!r} must be non-empty text"
                    )
            texts, starts = parse_answers(value, origin, row, example_id, answers_col)
            for number, (text, start) in enumerate(zip(texts, starts, strict=True)):
                found = context[start : start + len(text)]
                if found != text:
                    raise DataError(
                        f"{origin}: row {row} (id {example_id!r}): answer {number} {text!r} is not where its "
                        f"answer_start says: context[{start}:{start + len(text)}] is {found!r}"
                    )
            answers.append({"text": texts, "answer_start": starts})
        return hf_datasets.Dataset.from_dict(
            {"id": ids, "question": split[question_col], "context": split[context_col], "answers": answers}
        )

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        """One feature per context window. Every feature has the training targets (start/end
        positions) and the decoding data (``example_id``; ``offset_mapping``, None outside the
        context); the Trainer drops the latter and evaluation ignores the former."""
        require_fast_tokenizer(tokenizer, self.name)
        stride, budget = doc_stride(spec), question_budget(spec)

        def cut_questions(questions: list[str]) -> list[str]:
            questions = [q.lstrip() for q in questions]  # run_qa: leading spaces waste window room
            pieces = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)[
                "offset_mapping"
            ]
            return [
                q[: offsets[budget - 1][1]] if len(offsets) > budget else q
                for q, offsets in zip(questions, pieces, strict=True)
            ]

        def encode(batch: dict[str, list]) -> dict[str, list]:
            encoded = tokenizer(
                cut_questions(batch["question"]),
                batch["context"],
                truncation="only_second",
                max_length=spec.max_length,
                stride=stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            sample_map = encoded.pop("overflow_to_sample_mapping")
            all_offsets = encoded.pop("offset_mapping")
            starts, ends, example_ids, offset_columns = [], [], [], []
            for i, offsets in enumerate(all_offsets):
                sequence_ids = encoded.sequence_ids(i)
                example = sample_map[i]
                answers = batch["answers"][example]
                start_char = answers["answer_start"][0]
                end_char = start_char + len(answers["text"][0])
                input_ids = encoded["input_ids"][i]
                cls_index = (
                    input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
                )
                start, end = answer_token_span(offsets, sequence_ids, start_char, end_char, cls_index)
                starts.append(start)
                ends.append(end)
                example_ids.append(batch["id"][example])
                offset_columns.append(
                    [list(o) if s == CONTEXT else None for o, s in zip(offsets, sequence_ids, strict=True)]
                )
            encoded["start_positions"], encoded["end_positions"] = starts, ends
            encoded["example_id"], encoded["offset_mapping"] = example_ids, offset_columns
            return encoded

        return split.map(encode, batched=True, remove_columns=split.column_names, desc="tokenize")

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, return_tensors=return_tensors)

    def evaluate(
        self,
        spec: TaskSpec,
        predictor: Predictor,
        features: datasets.Dataset,
        raw: datasets.Dataset,
        tokenizer: Any,
    ) -> EvalOutput:
        outputs = forward_in_batches(
            predictor,
            features,
            self.collator(tokenizer, return_tensors="np"),
            token_outputs=("start_logits", "end_logits"),
        )
        row_of = {example_id: row for row, example_id in enumerate(raw["id"])}
        windows: dict[int, list] = defaultdict(list)
        for out, example_id, offsets in zip(
            outputs, features["example_id"], features["offset_mapping"], strict=True
        ):
            windows[row_of[example_id]].append((out["start_logits"], out["end_logits"], offsets))
        predictions = [
            best_span(windows[row], context, spec.n_best, spec.max_answer_length)
            for row, context in enumerate(raw["context"])
        ]
        references = [list(answers["text"]) for answers in raw["answers"]]
        # Parity data: start and end logits side by side, each padded to the longest window.
        longest = max(out["start_logits"].shape[0] for out in outputs)
        logits = np.zeros((len(outputs), 2 * longest), dtype=np.float32)
        for i, out in enumerate(outputs):
            n = out["start_logits"].shape[0]
            logits[i, :n] = out["start_logits"]
            logits[i, longest : longest + n] = out["end_logits"]
        return EvalOutput(
            predictions=predictions, references=references, raw_outputs={"start_end_logits": logits}
        )

    def distillation_terms(
        self, student_outputs: Any, teacher_outputs: Any, inputs: dict, config: DistillationConfig
    ) -> dict:
        import torch.nn.functional as F

        from tasks.kinds.losses import kd_kl

        padding = inputs["attention_mask"] == 0
        hard, soft = [], []
        for name, target in (("start_logits", "start_positions"), ("end_logits", "end_positions")):
            student = getattr(student_outputs, name).masked_fill(padding, MASKED_LOGIT)
            teacher = getattr(teacher_outputs, name).masked_fill(padding, MASKED_LOGIT)
            hard.append(F.cross_entropy(student, inputs[target]))
            soft.append(kd_kl(student, teacher, config.temperature))
        return {"hard_ce": (hard[0] + hard[1]) / 2, "kd_kl": (soft[0] + soft[1]) / 2}
