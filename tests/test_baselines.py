"""Trivial-model baselines that results carry next to the teachers (majority label, copy the input)."""

import datasets
import pytest
from sklearn.metrics import accuracy_score, f1_score

from tasks.kinds import get_kind
from tasks.metrics.generation import generation_scores
from tasks.spec import parse_task


def classification_spec(**overrides):
    data = {
        "name": "toy",
        "kind": "classification",
        "data": {"source": "builtin", "generator": "sentiment", "train_size": 10, "eval_size": 10},
        "columns": {"text": "text", "label": "label"},
        "labels": ["neg", "pos", "mixed"],
        "primary_metric": "accuracy",
    }
    data.update(overrides)
    return parse_task(data)


def test_majority_label_uses_the_training_split_and_scores_with_sklearn():
    spec = classification_spec()
    train = datasets.Dataset.from_dict({"text": ["a"] * 5, "label": [2, 2, 2, 0, 1]})
    evaluation = datasets.Dataset.from_dict({"text": ["b"] * 4, "label": [2, 0, 0, 1]})
    baseline = get_kind("classification").baseline(spec, train, evaluation)
    assert baseline["name"] == "majority label"
    assert baseline["score"] == pytest.approx(accuracy_score([2, 0, 0, 1], [2, 2, 2, 2]))  # 0.25, not eval's majority
    assert baseline["metrics"]["f1_macro"] == pytest.approx(
        f1_score([2, 0, 0, 1], [2, 2, 2, 2], average="macro", labels=[0, 1, 2], zero_division=0)
    )


def test_regression_similarity_has_no_baseline_but_pair_classification_has():
    regression = parse_task({
        "name": "sts", "kind": "similarity",
        "data": {"source": "builtin", "generator": "similarity", "train_size": 10, "eval_size": 10},
        "columns": {"text": "sentence1", "text_pair": "sentence2", "label": "label"}, "primary_metric": "pearson",
    })
    pairs = datasets.Dataset.from_dict({"sentence1": ["a"], "sentence2": ["b"], "label": [1]})
    assert get_kind("similarity").baseline(regression, pairs, pairs) is None
    paraphrase = regression.model_copy(update={"labels": ["no", "yes"], "primary_metric": "f1"})
    baseline = get_kind("similarity").baseline(paraphrase, pairs, pairs)
    assert baseline["name"] == "majority label" and baseline["score"] == pytest.approx(1.0)


def test_copy_the_input_scores_each_source_as_its_prediction():
    spec = parse_task({
        "name": "gen", "kind": "generation",
        "data": {"source": "builtin", "generator": "generation", "train_size": 10, "eval_size": 10},
        "columns": {"source": "source", "target": "target"}, "primary_metric": "rougeL",
    })
    rows = datasets.Dataset.from_dict({
        "source": ["meeting moved to friday please confirm", "budget numbers attached"],
        "target": ["meeting moved", "budget"],
        "references": [["meeting moved"], ["budget", "q3 budget"]],
    })
    baseline = get_kind("generation").baseline(spec, rows, rows)
    expected = generation_scores(list(rows["source"]), list(rows["references"]))
    assert baseline["name"] == "copy the input"
    assert baseline["metrics"] == expected and baseline["score"] == expected["rougeL"]
    assert 0 < baseline["score"] < 1
