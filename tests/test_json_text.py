"""Readable JSON text: objects indented as json.dumps(indent=2) writes them, lists of plain values on one line,
the same data back when read."""

from __future__ import annotations

import json
import math

import pytest

from harness.json_text import dumps_readable
from harness.results import write_json_atomic


def test_lists_of_plain_values_are_one_line_and_objects_are_indented():
    payload = {"predictions": [0, 1, 1], "tags": [["B-PER", "O"], []], "records": [{"score": 0.5}], "empty": {}}
    assert dumps_readable(payload) == (
        "{\n"
        '  "predictions": [0, 1, 1],\n'
        '  "tags": [["B-PER", "O"], []],\n'
        '  "records": [\n'
        "    {\n"
        '      "score": 0.5\n'
        "    }\n"
        "  ],\n"
        '  "empty": {}\n'
        "}"
    )


def test_without_plain_lists_the_text_is_json_dumps_indent_2():
    payload = {"a": {"b": None, "c": True, "d": "é", "e": [{"f": 1.25}, {"g": {}}]}, "h": [], 3: "int key"}
    assert dumps_readable(payload) == json.dumps(payload, indent=2)


@pytest.mark.parametrize(
    "payload",
    [[[[1]]], [{"a": [[1, [2]]]}], ("t", 1), {"x": [1.5e-300, -0.0, 10**20, None, "s"]}, [], "plain", 3.5],
    ids=repr,
)
def test_the_text_reads_back_as_the_same_data(payload):
    assert json.loads(dumps_readable(payload)) == json.loads(json.dumps(payload))


def test_nan_and_infinity_are_refused():
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError):
            dumps_readable({"score": [0.1, bad]})


def test_values_json_does_not_know_are_written_as_their_str(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"path": tmp_path, "many": [tmp_path]})
    assert json.loads(path.read_text()) == {"path": str(tmp_path), "many": [str(tmp_path)]}
    assert path.read_text().count("\n") == 3
