"""The built-in data generators: determinism, schemas, sizes, split hygiene and per-task invariants."""

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tasks.builtin import GENERATORS, generation, ner, qa, sentiment, similarity

MODULES: dict[str, ModuleType] = {
    "sentiment": sentiment,
    "similarity": similarity,
    "ner": ner,
    "qa": qa,
    "generation": generation,
}
KINDS = list(MODULES)
REPO = Path(__file__).resolve().parents[1]


def _input_key(kind: str, row: dict) -> object:
    """What the model sees of a row: two rows with equal keys are the same example."""
    if kind == "sentiment":
        return row["text"]
    if kind == "similarity":
        return (row["sentence1"], row["sentence2"])
    if kind == "ner":
        return tuple(row["tokens"])
    if kind == "qa":
        return (row["context"], row["question"])
    return row["source"]


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@pytest.fixture(scope="module")
def default_data() -> dict[str, dict[str, list[dict]]]:
    return {kind: module.generate(*module.DEFAULT_SIZES) for kind, module in MODULES.items()}


def test_registry_names_every_generator() -> None:
    assert sorted(GENERATORS) == sorted(KINDS)
    for kind, module in MODULES.items():
        assert GENERATORS[kind] is module.generate


@pytest.mark.parametrize("kind", KINDS)
def test_default_sizes(kind: str, default_data: dict) -> None:
    n_train, n_eval = MODULES[kind].DEFAULT_SIZES
    assert set(default_data[kind]) == {"train", "validation"}
    assert len(default_data[kind]["train"]) == n_train
    assert len(default_data[kind]["validation"]) == n_eval


@pytest.mark.parametrize("kind", KINDS)
def test_small_and_odd_sizes(kind: str) -> None:
    splits = GENERATORS[kind](7, 3, 5)
    assert (len(splits["train"]), len(splits["validation"])) == (7, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_per_seed(kind: str) -> None:
    generate = GENERATORS[kind]
    first = json.dumps(generate(60, 20, 3), sort_keys=True)
    assert json.dumps(generate(60, 20, 3), sort_keys=True) == first
    assert json.dumps(generate(60, 20, 4), sort_keys=True) != first


@pytest.mark.parametrize("kind", KINDS)
def test_leaves_global_random_state_alone(kind: str) -> None:
    random.seed(123)
    state = random.getstate()
    GENERATORS[kind](30, 10, 0)
    assert random.getstate() == state


def test_deterministic_across_processes() -> None:
    here = {kind: _digest(generate(200, 50, 1)) for kind, generate in GENERATORS.items()}
    script = (
        "import hashlib, json\n"
        "from tasks.builtin import GENERATORS\n"
        "print(json.dumps({k: hashlib.sha256(json.dumps(g(200, 50, 1), sort_keys=True).encode()).hexdigest()"
        " for k, g in GENERATORS.items()}))\n"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == here


@pytest.mark.parametrize("kind", KINDS)
def test_no_input_shared_between_splits(kind: str, default_data: dict) -> None:
    train = {_input_key(kind, row) for row in default_data[kind]["train"]}
    validation = [_input_key(kind, row) for row in default_data[kind]["validation"]]
    assert not train.intersection(validation)
    assert len(set(validation)) == len(validation)
    assert len(train) == len(default_data[kind]["train"])


# --- sentiment ---------------------------------------------------------------------------------------------


def test_sentiment_schema_and_balance(default_data: dict) -> None:
    assert sentiment.LABELS == ["negative", "positive"]
    for rows in default_data["sentiment"].values():
        for row in rows:
            assert set(row) == {"text", "label"}
            assert isinstance(row["text"], str) and row["text"]
            assert row["label"] in (0, 1)
        share = sum(row["label"] for row in rows) / len(rows)
        assert abs(share - 0.5) <= 0.02


def test_sentiment_labels_follow_the_rules(default_data: dict) -> None:
    for rows in default_data["sentiment"].values():
        for row in rows:
            assert sentiment.rule_label(row["text"]) == row["label"], row


def test_sentiment_rule_examples() -> None:
    assert sentiment.rule_label("the plot is not good .") == 0
    assert sentiment.rule_label("the plot is good but the acting was hardly great .") == 0
    assert sentiment.rule_label("although the plot is bad , the acting was very good .") == 1
    assert sentiment.rule_label("the plot is bad , although the acting was very good .") == 0
    assert sentiment.rule_label("i can not deny that the screen is excellent .") == 1
    filler = "a friend with great taste suggested it ."
    assert sentiment.rule_label(f"{filler} i doubt that the screen is good .") == 0


def test_sentiment_is_not_bag_of_words_solvable(default_data: dict) -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, validation = default_data["sentiment"]["train"], default_data["sentiment"]["validation"]
    vectorizer = CountVectorizer()
    features = vectorizer.fit_transform([row["text"] for row in train])
    model = LogisticRegression(max_iter=2000).fit(features, [row["label"] for row in train])
    accuracy = model.score(vectorizer.transform([row["text"] for row in validation]),
                           [row["label"] for row in validation])
    # Measured: about 0.5 (chance) for seed 0; a structure-reading model does far better.
    assert accuracy < 0.90, accuracy


# --- similarity --------------------------------------------------------------------------------------------


def test_similarity_schema_range_and_spread(default_data: dict) -> None:
    for rows in default_data["similarity"].values():
        for row in rows:
            assert set(row) == {"sentence1", "sentence2", "label"}
            assert row["sentence1"] and row["sentence2"]
            assert isinstance(row["label"], float)
            assert 0.0 <= row["label"] <= 5.0
        scores = [row["label"] for row in rows]
        assert statistics.pstdev(scores) > 1.0
        assert min(scores) < 0.5 and max(scores) > 4.5


def test_similarity_score_rule() -> None:
    assert similarity.score([]) == 5.0
    assert similarity.score(["who", "action", "object", "place"]) == 0.0
    assert similarity.score(["place"], jitter=0.05) == 4.05


# --- ner ---------------------------------------------------------------------------------------------------


def test_ner_schema_and_iob2(default_data: dict) -> None:
    assert ner.LABELS == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    seen_types: set[str] = set()
    for rows in default_data["ner"].values():
        for row in rows:
            assert set(row) == {"tokens", "ner_tags"}
            assert len(row["tokens"]) == len(row["ner_tags"]) > 0
            assert all(isinstance(token, str) and token and " " not in token for token in row["tokens"])
            previous = "O"
            for tag in row["ner_tags"]:
                assert tag in ner.LABELS
                if tag.startswith("I-"):
                    assert previous in (f"B-{tag[2:]}", tag), row
                if tag.startswith("B-"):
                    seen_types.add(tag[2:])
                previous = tag
    assert seen_types == {"PER", "ORG", "LOC"}


def test_ner_ambiguous_names_take_both_types(default_data: dict) -> None:
    types_by_name: dict[str, set[str]] = {}
    for row in default_data["ner"]["train"]:
        for token, tag in zip(row["tokens"], row["ner_tags"], strict=True):
            if token in ner.AMBIGUOUS and tag != "O":
                types_by_name.setdefault(token, set()).add(tag[2:])
    assert any({"PER", "LOC"} <= types for types in types_by_name.values())


def test_ner_validation_has_unseen_names(default_data: dict) -> None:
    train_tokens = {token for row in default_data["ner"]["train"] for token in row["tokens"]}
    unseen = [token for row in default_data["ner"]["validation"] for token, tag in
              zip(row["tokens"], row["ner_tags"], strict=True) if tag != "O" and token not in train_tokens]
    assert len(unseen) > 50


# --- qa ----------------------------------------------------------------------------------------------------


def test_qa_schema_and_offsets(default_data: dict) -> None:
    ids: set[str] = set()
    for rows in default_data["qa"].values():
        for row in rows:
            assert set(row) == {"id", "title", "context", "question", "answers"}
            assert row["id"] not in ids
            ids.add(row["id"])
            answers = row["answers"]
            assert len(answers["text"]) == len(answers["answer_start"]) == 1
            text, start = answers["text"][0], answers["answer_start"][0]
            assert text and row["context"][start:start + len(text)] == text
            assert 3 <= row["context"].count(" . ") + 1 <= 5
    first_words = {row["question"].split()[0] for row in default_data["qa"]["train"]}
    assert {"Who", "Where", "When", "How"} <= first_words


# --- generation --------------------------------------------------------------------------------------------


def test_generation_targets_come_from_sources(default_data: dict) -> None:
    for rows in default_data["generation"].values():
        for row in rows:
            assert set(row) == {"source", "target"}
            target_words = row["target"].split()
            assert 3 <= len(target_words) <= 8
            assert set(target_words) <= set(row["source"].split()), row
            assert row["target"] not in row["source"]  # never a plain copy of a span
