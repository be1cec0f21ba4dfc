"""A ``model=`` student must read the teacher's token ids (harness.tokenizer_check): the same vocabulary and
special tokens pass, anything else is a one-line error naming both models, before any training."""

from __future__ import annotations

import pytest

from harness.tokenizer_check import check_student_tokenizer, tokenizer_difference
from tasks.errors import ConfigError
from tests.tiny_models import minilm_tokenizer, save_tiny_model, wordpiece_tokenizer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "film", "was", "good", "bad"]


def test_the_same_vocabulary_passes_and_any_difference_is_named(tmp_path):
    base = wordpiece_tokenizer(tmp_path, SPECIAL + WORDS)
    assert tokenizer_difference(base, wordpiece_tokenizer(tmp_path / "again", SPECIAL + WORDS)) is None
    assert tokenizer_difference(minilm_tokenizer(), minilm_tokenizer()) is None

    moved = tokenizer_difference(base, wordpiece_tokenizer(tmp_path, SPECIAL + ["film", "the", "was", "good", "bad"]))
    assert moved == "2 tokens have other ids (e.g. 'film': 6 in the teacher's, 5 in the student's)"
    missing = tokenizer_difference(base, wordpiece_tokenizer(tmp_path, SPECIAL + ["the", "film", "was", "good", "ok"]))
    assert missing == "1 of the teacher's tokens are not in the student's vocabulary (e.g. 'bad')"
    more = tokenizer_difference(base, wordpiece_tokenizer(tmp_path, SPECIAL + WORDS + ["ok"]))
    assert more == "the student's vocabulary has 1 more tokens"
    other_pad = wordpiece_tokenizer(tmp_path, SPECIAL + WORDS)
    other_pad.pad_token = "[MASK]"
    assert tokenizer_difference(base, other_pad) == "pad_token_id is 0 in the teacher's and 4 in the student's"


def test_a_student_folder_is_checked_against_the_teacher(tmp_path):
    teacher = save_tiny_model(tmp_path / "teacher")
    same = save_tiny_model(tmp_path / "same", layers=1)
    check_student_tokenizer("teacher", str(teacher), f"model={same}", str(same))  # passes

    other = save_tiny_model(tmp_path / "other", vocab=SPECIAL + WORDS)
    with pytest.raises(ConfigError) as caught:
        check_student_tokenizer("tiny-teacher", str(teacher), f"model={other}", str(other))
    message = str(caught.value)
    assert "\n" not in message
    assert f"student 'model={other}'" in message and "tiny-teacher: BertTokenizerFast, 30522 tokens" in message
    assert f"model={other}: BertTokenizerFast, 10 tokens" in message
    assert "must share a vocabulary" in message

    bare = save_tiny_model(tmp_path / "bare", vocab=SPECIAL + WORDS)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (bare / name).unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="it has no tokenizer and an embedding table of 10 tokens, but the teacher's"):
        check_student_tokenizer("tiny-teacher", str(teacher), f"model={bare}", str(bare))
