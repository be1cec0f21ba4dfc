"""Data loading: local formats, deterministic caps, and errors that name the file and the field."""

import json

import pandas as pd
import pytest

from tasks.data import cap, load_splits, read_local_file
from tasks.errors import DataError
from tasks.kinds import get_kind
from tasks.spec import parse_task

ROWS = [{"sentence": f"text number {i}", "label": i % 2} for i in range(40)]


def task(fmt_train: str = "train.jsonl", fmt_eval: str = "dev.jsonl", **overrides) -> object:
    data = {
        "name": "local-task",
        "kind": "classification",
        "data": {"source": "local", "path": "d", "train": fmt_train, "eval": fmt_eval},
        "columns": {"text": "sentence", "label": "label"},
        "labels": ["neg", "pos"],
        "primary_metric": "accuracy",
    }
    data.update(overrides)
    return parse_task(data)


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix
    frame = pd.DataFrame(rows)
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        frame.to_parquet(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_local_formats_read_the_same_rows(tmp_path, suffix):
    path = tmp_path / f"rows{suffix}"
    write_rows(path, ROWS)
    dataset = read_local_file(path)
    assert dataset["sentence"] == [r["sentence"] for r in ROWS]
    assert [int(v) for v in dataset["label"]] == [r["label"] for r in ROWS]


def test_conll_reader(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    dataset = read_local_file(path)
    assert dataset["tokens"] == [["EU", "rejects"], ["Peter"]]
    assert dataset["ner_tags"] == [["B-ORG", "O"], ["B-PER"]]


def test_malformed_conll_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EU B-ORG\nrejects\n")
    with pytest.raises(DataError, match=r"bad.txt:2"):
        read_local_file(path)


def test_caps_are_deterministic_and_nested(tmp_path):
    write_rows(tmp_path / "rows.jsonl", ROWS)
    dataset = read_local_file(tmp_path / "rows.jsonl")
    first, again = cap(dataset, 10)["sentence"], cap(dataset, 10)["sentence"]
    assert first == again
    assert set(cap(dataset, 5)["sentence"]) <= set(cap(dataset, 10)["sentence"])
    assert first != dataset["sentence"][:10]  # a seeded random subset, not the file's head
    with pytest.raises(DataError, match="positive"):
        cap(dataset, 0)


def test_load_splits_with_caps(tmp_path):
    write_rows(tmp_path / "d" / "train.jsonl", ROWS)
    write_rows(tmp_path / "d" / "dev.jsonl", ROWS[:10])
    raw = load_splits(task(), tmp_path, max_train=12, max_eval=4)
    assert len(raw.train) == 12 and len(raw.eval) == 4


def test_missing_data_dir_flag():
    with pytest.raises(DataError, match="--data-dir"):
        load_splits(task(), None)


def test_missing_file_is_named(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(DataError, match=r"train.jsonl: data file not found"):
        load_splits(task(), tmp_path)


def test_unknown_suffix(tmp_path):
    write_rows(tmp_path / "d" / "train.jsonl", ROWS)
    (tmp_path / "d" / "dev.xlsx").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_splits(task(fmt_eval="dev.xlsx"), tmp_path)


def test_empty_split(tmp_path):
    write_rows(tmp_path / "d" / "train.jsonl", ROWS)
    (tmp_path / "d" / "dev.jsonl").write_text("")
    with pytest.raises(DataError, match="dev.jsonl"):
        load_splits(task(), tmp_path)


def prepare(spec, rows, origin="file.jsonl", is_train=True):
    import datasets

    return get_kind(spec.kind).prepare_split(spec, datasets.Dataset.from_list(rows), origin, is_train)


def test_missing_column_lists_the_file_columns():
    spec = task(columns={"text": "review", "label": "label"})
    with pytest.raises(DataError, match=r"file.jsonl: column 'review' \(columns.text\) not found; the file has: sentence"):
        prepare(spec, ROWS)


def test_label_outside_label_list():
    rows = [*ROWS[:5], {"sentence": "x", "label": 7}]
    with pytest.raises(DataError, match=r"row 5: column 'label' has label 7 outside the label list"):
        prepare(task(), rows)


def test_label_names_are_mapped():
    rows = [{"sentence": "a", "label": "pos"}, {"sentence": "b", "label": "neg"}]
    assert prepare(task(), rows)["label"] == [1, 0]


def test_single_class_training_set():
    rows = [{"sentence": f"s{i}", "label": 1} for i in range(5)]
    with pytest.raises(DataError, match="single class"):
        prepare(task(), rows)


def test_nan_regression_target():
    spec = parse_task(
        {
            "name": "sts",
            "kind": "similarity",
            "data": {"source": "local", "path": "d", "train": "t.jsonl", "eval": "e.jsonl"},
            "columns": {"text": "a", "text_pair": "b", "label": "score"},
            "primary_metric": "pearson",
        }
    )
    rows = [{"a": "x", "b": "y", "score": 1.0}, {"a": "x", "b": "z", "score": float("nan")}]
    with pytest.raises(DataError, match=r"row 1: column 'score' is nan"):
        prepare(spec, rows)


@pytest.mark.parametrize("labels", [None, ["different", "same"]])
def test_swap_pairs_adds_each_training_pair_mirrored(labels):
    spec = parse_task(
        {
            "name": "sts",
            "kind": "similarity",
            "data": {"source": "local", "path": "d", "train": "t.jsonl", "eval": "e.jsonl"},
            "columns": {"text": "a", "text_pair": "b", "label": "score"},
            "labels": labels,
            "primary_metric": "pearson" if labels is None else "f1",
            "swap_pairs": True,
        }
    )
    rows = [{"a": "first", "b": "second", "score": 0}, {"a": "third", "b": "fourth", "score": 1}]
    train = prepare(spec, rows)
    assert list(zip(train["text"], train["text_pair"], train["label"], strict=True)) == [
        ("first", "second", 0),
        ("third", "fourth", 1),
        ("second", "first", 0),
        ("fourth", "third", 1),
    ]
    evaluation = prepare(spec, rows, is_train=False)
    assert evaluation["text"] == ["first", "third"]  # the evaluation split is never augmented


def test_swap_pairs_is_refused_outside_similarity():
    with pytest.raises(
        Exception,
        match="field 'swap_pairs': Value error, applies to kind similarity only, not classification",
    ):
        task(swap_pairs=True)
