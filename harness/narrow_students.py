"""``narrow=LxH`` and ``narrow=LxHxA`` students: fewer layers *and* a smaller width than the teacher.

A layer subset keeps the teacher's width, so it can start from the teacher's weights. A narrower student
cannot: its blocks and its task head start from the configuration's random initialisation (the "from scratch"
student of TinyBERT and MiniLM), and everything it knows comes from distillation. Two terms work across widths:
``relation_kl`` (MiniLMv2's self-attention relations) and ``hidden_mse``, whose learned projection maps the
student's states onto the teacher's (TinyBERT). ``attention_kl`` needs equal head counts.

Only the embedding tables are not drawn at random: each (word, position, token type) is the teacher's table
multiplied by the same ``teacher width × H`` matrix, the first H principal directions of the teacher's word
embeddings. The student then starts with the teacher's vocabulary geometry, cut to its width, and the sum of
the tables stays consistent, because all of them are mapped into one subspace.

L is the depth (at most the teacher's), H the width (at most the teacher's) and A the attention heads. A defaults
to H divided by the teacher's head width, and it must divide H. The feed-forward width scales with H.
Encoder models only: a generation teacher (encoder-decoder or decoder-only) is refused before any training.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tasks.errors import ConfigError


def parse_narrow(text: str, value: str) -> tuple[int, int, int | None]:
    """(layers, hidden, heads or None) of ``narrow=LxH`` / ``narrow=LxHxA``; a bad value is a ConfigError."""
    match = re.fullmatch(r"([1-9][0-9]*)x([1-9][0-9]*)(?:x([1-9][0-9]*))?", value)
    if not match:
        raise ConfigError(f"student {text!r}: expected 'narrow=LAYERSxHIDDEN' or 'narrow=LAYERSxHIDDENxHEADS' "
                          "(positive integers, e.g. narrow=4x192)")
    layers, hidden, heads = match.groups()
    return int(layers), int(hidden), int(heads) if heads else None


def narrow_config(teacher_config: Any, text: str, layers: int, hidden: int, heads: int | None) -> Any:
    """The student's configuration: the teacher's with ``layers`` blocks of width ``hidden`` and ``heads``
    heads. A teacher this cannot shrink, or a width or head count that does not fit, is a one-line error."""
    from harness.models import is_decoder_only

    if getattr(teacher_config, "is_encoder_decoder", False) or is_decoder_only(teacher_config):
        raise ConfigError(f"student {text!r}: narrow students are built for encoder teachers (classification, "
                          f"similarity, NER, QA); a {teacher_config.model_type!r} generation model takes 'layers=' "
                          "or 'model=' students")
    needed = ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size")
    missing = [name for name in needed if not isinstance(getattr(teacher_config, name, None), int)]
    if missing:
        raise ConfigError(f"student {text!r}: the teacher's {type(teacher_config).__name__} has no "
                          f"{', '.join(missing)}, so no narrower copy of it can be configured")
    width, depth = teacher_config.hidden_size, teacher_config.num_hidden_layers
    if hidden > width:
        raise ConfigError(f"student {text!r}: width {hidden} is wider than the teacher's {width}")
    if layers > depth:
        raise ConfigError(f"student {text!r}: {layers} layers, but the teacher has only {depth}")
    head_width = width // teacher_config.num_attention_heads
    heads = heads or max(1, hidden // head_width)
    if hidden % heads:
        raise ConfigError(f"student {text!r}: {heads} attention heads do not divide the width {hidden}")
    config = copy.deepcopy(teacher_config)
    config.hidden_size, config.num_attention_heads, config.num_hidden_layers = hidden, heads, layers
    config.intermediate_size = max(1, teacher_config.intermediate_size * hidden // width)
    return config


def spec_config(teacher_config: Any, spec: Any) -> Any:
    """:func:`narrow_config` for a parsed ``narrow=`` :class:`harness.models.StudentSpec`."""
    return narrow_config(teacher_config, spec.text, spec.layer_count or 1, int(spec.hidden or 0), spec.heads)


def embedding_projection(word_embeddings: Any, hidden: int) -> Any:
    """The ``teacher width × hidden`` matrix onto the first ``hidden`` principal directions of the word table."""
    import torch

    table = word_embeddings.detach().float()
    _, _, directions = torch.linalg.svd(table - table.mean(dim=0, keepdim=True), full_matrices=False)
    return directions[:hidden].T.contiguous()


def build_narrow_student(teacher: Any, spec: Any) -> Any:
    """A randomly initialised model of the teacher's class (same task head) at the configuration of the
    ``narrow=`` ``spec``, its embedding tables the teacher's projected by :func:`embedding_projection`."""
    import torch

    config = spec_config(teacher.config, spec)
    hidden = config.hidden_size
    student = type(teacher)(config)
    teacher_tables = getattr(teacher.base_model, "embeddings", None)
    student_tables = getattr(student.base_model, "embeddings", None)
    word = teacher.get_input_embeddings().weight
    projection = embedding_projection(word, hidden)
    with torch.no_grad():
        for name, table in (teacher_tables.named_children() if teacher_tables is not None else ()):
            target = getattr(student_tables, name, None)
            if isinstance(table, torch.nn.Embedding) and isinstance(target, torch.nn.Embedding) \
                    and table.weight.shape[1] == word.shape[1] and target.weight.shape[0] == table.weight.shape[0]:
                target.weight.copy_(table.weight.float() @ projection)
    return student
