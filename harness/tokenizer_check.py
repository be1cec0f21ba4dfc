"""A ``model=`` student must read the teacher's token ids: checked before anything is trained.

Distillation tokenizes the data once, with the teacher's tokenizer, and feeds the same ids to both models. A
student whose vocabulary maps those ids to other tokens would learn from the wrong text, and nothing would fail:
the silent mismatch that users of TRL's and DistillKit's distillation report most (``shared/notes/anchors.md``
§5). So a student with a tokenizer of its own must map every token to the teacher's id and agree on the special
tokens, and a student without one must at least have an embedding table of the teacher's vocabulary size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.errors import ConfigError, ReusebenchError

#: special tokens whose ids both models must agree on (those a tokenizer does not define are skipped)
SPECIAL_TOKENS = ("pad_token_id", "unk_token_id", "cls_token_id", "sep_token_id", "mask_token_id",
                  "bos_token_id", "eos_token_id")


#: the files a saved tokenizer has at least one of (a model folder without any has no tokenizer)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "tokenizer.model",
                   "spiece.model", "sentencepiece.bpe.model")


def _describe(name: str, tokenizer: Any) -> str:
    return f"{name}: {type(tokenizer).__name__}, {len(tokenizer)} tokens"


def tokenizer_difference(teacher: Any, student: Any) -> str | None:
    """How ``student``'s tokenizer maps tokens differently from ``teacher``'s (None: the same ids)."""
    teacher_vocab, student_vocab = teacher.get_vocab(), student.get_vocab()
    if teacher_vocab != student_vocab:
        missing = sorted(set(teacher_vocab) - set(student_vocab))
        moved = sorted(t for t in set(teacher_vocab) & set(student_vocab) if teacher_vocab[t] != student_vocab[t])
        parts = []
        if missing:
            parts.append(f"{len(missing)} of the teacher's tokens are not in the student's vocabulary "
                         f"(e.g. {missing[0]!r})")
        if moved:
            token = moved[0]
            parts.append(f"{len(moved)} tokens have other ids (e.g. {token!r}: {teacher_vocab[token]} in the "
                         f"teacher's, {student_vocab[token]} in the student's)")
        if not parts:
            parts.append(f"the student's vocabulary has {len(student_vocab) - len(teacher_vocab)} more tokens")
        return "; ".join(parts)
    for special in SPECIAL_TOKENS:
        mine, theirs = getattr(teacher, special, None), getattr(student, special, None)
        if mine is not None and theirs is not None and mine != theirs:
            return f"{special} is {mine} in the teacher's and {theirs} in the student's"
    return None


def check_student_tokenizer(teacher_name: str, teacher_source: str, student_text: str, student_source: str,
                            trust_remote_code: bool = False) -> None:
    """Raise a one-line error naming both models when the student at ``student_source`` would not read the
    teacher's token ids as the teacher does."""
    import transformers

    from harness.models import load_tokenizer

    teacher = load_tokenizer(teacher_source, trust_remote_code=trust_remote_code)
    student = None
    folder = Path(student_source)
    if not folder.is_dir() or any((folder / name).is_file() for name in TOKENIZER_FILES):
        try:
            student = load_tokenizer(student_source, trust_remote_code=trust_remote_code)
        except ReusebenchError:  # a Hub model with weights and a configuration but no tokenizer
            student = None
    if student is None:
        config = transformers.AutoConfig.from_pretrained(student_source, trust_remote_code=trust_remote_code)
        size = getattr(config, "vocab_size", None)
        if size is not None and size != len(teacher):
            raise ConfigError(
                f"student {student_text!r}: it has no tokenizer and an embedding table of {size} tokens, but the "
                f"teacher's tokenizer ({_describe(teacher_name, teacher)}) has {len(teacher)}: distillation feeds "
                "both models the teacher's token ids, so they must share a vocabulary"
            )
        return
    difference = tokenizer_difference(teacher, student)
    if difference is not None:
        hint = ("" if "not in the student's vocabulary" in difference else " (it holds the teacher's tokens under other "
                f"ids: 'remapped={student_text.partition('=')[2]}' re-indexes its embeddings to the teacher's)")
        raise ConfigError(
            f"student {student_text!r}: its tokenizer ({_describe(student_text, student)}) is not the teacher's "
            f"({_describe(teacher_name, teacher)}): {difference}; distillation feeds both models the teacher's "
            f"token ids, so they must share a vocabulary{hint}"
        )
