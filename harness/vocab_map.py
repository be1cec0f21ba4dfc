"""Re-index a student's embeddings to the teacher's token ids (``remapped=ID_OR_PATH`` students).

Distillation feeds both models the teacher's token ids (:mod:`harness.tokenizer_check`). Some students hold the
teacher's word pieces under other ids: MPNet's vocabulary is MiniLM's 30,522 pieces shifted by 4, with ``<s>``,
``</s>``, ``<pad>``, ``<unk>`` and ``<mask>`` where BERT has ``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]`` and
``[MASK]`` (``../shared/notes/offline-models.md``). Such a student can read the teacher's ids once its input
embedding table is re-ordered: row ``i`` of the new table is the student's row for the token the teacher calls
``i``. Special tokens are matched by role (the teacher's ``<s>`` is the student's classification token); every
other teacher token must be in the student's vocabulary, but for at most 0.1 % of them (read as the student's
unknown token), else the student is refused before training.
"""

from __future__ import annotations

import logging
from typing import Any

from tasks.errors import ConfigError

log = logging.getLogger("reusebench")

#: the share of the teacher's tokens a remapped student may lack (each read as its unknown token): MPNet has a
#: plain ``<unk>`` entry besides its real unknown token ``[UNK]``, which MiniLM has not
MAX_MISSING_FRACTION = 0.001

#: special-token roles, matched between the two tokenizers; bos/eos fall back to cls/sep (RoBERTa-style
#: tokenizers use ``<s>``/``</s>`` as both)
ROLES = ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token", "bos_token", "eos_token")
_FALLBACK = {"bos_token": "cls_token", "eos_token": "sep_token", "cls_token": "bos_token", "sep_token": "eos_token"}


def _role_ids(tokenizer: Any) -> dict[str, int]:
    ids = {}
    for role in ROLES:
        token = getattr(tokenizer, role, None)
        if token is not None:
            ids[role] = tokenizer.convert_tokens_to_ids(str(token))
    return ids


def vocabulary_map(teacher: Any, student: Any, student_text: str) -> list[int]:
    """For each teacher id, the student id of the same token (special tokens by role). A teacher token the
    student does not have is a one-line :class:`ConfigError` naming the student and an example."""
    student_vocab = student.get_vocab()
    teacher_roles, student_roles = _role_ids(teacher), _role_ids(student)
    special: dict[int, int] = {}
    for role, teacher_id in teacher_roles.items():
        mine = student_roles.get(role, student_roles.get(_FALLBACK.get(role, ""), None))
        if mine is not None:
            special.setdefault(teacher_id, mine)
    tokens = teacher.convert_ids_to_tokens(list(range(len(teacher))))
    mapping, missing = [], []
    for teacher_id, token in enumerate(tokens):
        student_id = special.get(teacher_id, student_vocab.get(token))
        if student_id is None:
            missing.append(token)
            student_id = student_roles.get("unk_token", 0)
        mapping.append(student_id)
    if len(missing) > MAX_MISSING_FRACTION * len(tokens):
        raise ConfigError(
            f"student {student_text!r}: {len(missing)} of the teacher's {len(tokens)} tokens are not in its "
            f"vocabulary (e.g. {missing[0]!r}), so its embeddings cannot be re-indexed to the teacher's ids; a "
            f"remapped student must hold all but {MAX_MISSING_FRACTION:.1%} of the teacher's tokens"
        )
    if missing:
        log.info("student %s: %d teacher token(s) it lacks read as its unknown token: %s", student_text,
                 len(missing), ", ".join(repr(t) for t in missing[:5]))
    return mapping


def reindex_input_embeddings(model: Any, mapping: list[int], pad_id: int | None) -> None:
    """Replace ``model``'s input embedding table by its rows in ``mapping``'s order (the teacher's ids), in place."""
    import torch

    old = model.get_input_embeddings()
    index = torch.tensor(mapping, dtype=torch.long, device=old.weight.device)
    new = torch.nn.Embedding(len(mapping), old.embedding_dim, padding_idx=pad_id,
                             device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(old.weight[index])
    model.set_input_embeddings(new)
    model.config.vocab_size = len(mapping)
    if pad_id is not None:
        model.config.pad_token_id = pad_id
